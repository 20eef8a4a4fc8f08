"""Users, password hashing, API tokens, browser sessions, project membership and roles, policies."""
