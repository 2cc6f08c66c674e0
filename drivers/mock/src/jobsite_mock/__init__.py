"""jobsite-mock."""
