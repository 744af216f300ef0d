"""Price fetch jobs: admins fetch prices from Alpha Vantage on a worker and follow the job's progress."""
