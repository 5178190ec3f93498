import AsyncHTTPClient

extension HTTPClient {
    /// The client every agent request goes through (health checks, Docker, push).
    ///
    /// Unlike `HTTPClient.shared` it does not retry a refused connection until the
    /// deadline: a health check must report "connection refused" at once, not "timed out"
    /// after its whole timeout. It follows up to 5 redirects, so `expect_status` applies
    /// to the final answer. Created on first use, so a sample without Docker, checks or
    /// push never starts its event loop; like `.shared`, it lives as long as the process.
    public static let lookoutAgent: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
