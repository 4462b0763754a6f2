"""The offline interpreter of chat requests (see planner.interpret) and its resolvers."""
