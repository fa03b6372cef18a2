"""In-memory fakes of the project's AWS-facing interfaces, for tests that need no AWS mock."""
