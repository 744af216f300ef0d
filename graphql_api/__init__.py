"""The AIBT GraphQL API: the Strawberry schema per domain, auth, the Starlette app and the CLI."""
