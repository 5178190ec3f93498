import LookoutHub
print("lookout")
