import Logging
import LookoutCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Trades an enrollment code for a VM's own push token (`POST /install/enroll`): checks the
/// code under the enrollments lock, writes the new token to the per-VM tokens file, and
/// hands the new token set to the running hub's auth middlewares, so the VM can push at once.
public struct Enroller: Sendable {
    public let codes: EnrollmentFile
    public let tokenFile: VMTokenFile
    let live: LiveTokens
    let budget: WrongCodeBudget
    let logger: Logger
    let now: @Sendable () -> Date

    /// The answer of a trade: the VM, its new token.
    public struct Trade: Sendable, Equatable {
        public let vmID: VMID
        public let token: String
    }

    public init(
        dataFolder: String, tokensPath: String, live: LiveTokens, budget: WrongCodeBudget = WrongCodeBudget(),
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.budget = budget
        codes = EnrollmentFile(dataFolder: dataFolder)
        tokenFile = VMTokenFile(path: tokensPath)
        self.live = live
        self.logger = logger
        self.now = now
    }

    /// Why this hub may not enroll VMs, or nil. Without a main token every read of the API
    /// is open, so a hub that handed out push tokens would protect nothing it hands out.
    public static func refusal(_ tokens: APITokens) -> String? {
        tokens.main == nil
            ? "this hub has no main token, so it does not enroll VMs; set LOOKOUT_TOKEN or token_file (README "
                + "\"Tokens\") and restart serve"
            : nil
    }

    /// Trades `code`; a refusal says whether the code was wrong, used or expired.
    public func trade(code: String) async throws(EnrollmentError) -> Trade {
        if let refusal = Self.refusal(live.current) { throw EnrollmentError(refusal, kind: .refused) }
        let time = now()
        guard budget.allows(at: time) else {
            throw EnrollmentError(
                "more than \(WrongCodeBudget.perMinute) wrong, used or expired codes in the last minute: this hub "
                    + "takes no code until the minute is over; try again in a minute", kind: .tooMany)
        }
        let tokenFile = tokenFile
        let live = live
        let trade: Trade
        do {
            trade = try await codes.trade(code: code, now: time) { (vm: VMID) async throws(EnrollmentError) -> Trade in
                let token = VMTokenFile.newToken()
                let all = try await tokenFile.issue(token, for: vm)
                live.replacePerVM(all)
                return Trade(vmID: vm, token: token)
            }
        } catch {
            if error.kind == .refused || error.kind == .usage { budget.refused(at: time) }
            throw error
        }
        logger.notice("enrolled \(trade.vmID): a new per-VM token was written to \(tokenFile.path)")
        return trade
    }
}
