"""HTTP routers, one per domain: parse, call one service function, return a schema."""
