"""HTTP routers: the native ``/v1`` API (dialect routers sit beside it)."""
