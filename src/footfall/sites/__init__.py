"""Sites, goals, funnels and shared links."""
