"""Results: the tables' contract, reading results folders, output analysis and bottlenecks."""
