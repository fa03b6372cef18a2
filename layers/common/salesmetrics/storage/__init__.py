"""Storage: the `Storage` protocol the domain talks to, and its DynamoDB + S3 implementation."""
