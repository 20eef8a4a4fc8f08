"""One router per stage. Handlers load, authorize, call the service, return."""
