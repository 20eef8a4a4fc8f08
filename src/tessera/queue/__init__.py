"""Tasks (pages of 1/4/6/9 items), leases, claim-next strategies, assignment to named labelers."""
