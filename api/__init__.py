"""HTTP API: app factory, dependencies, auth, error mapping, routers."""
