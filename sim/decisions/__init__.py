"""The decision layer: levers ranked by what they buy, the least amount of a lever that reaches a target
with a given probability, named shocks and the stress matrix, and the decision page of the report.

Everything here only makes scenario variants (plain data, validated like any scenario) and reads results;
nothing reaches into the event loop. Variants of one experiment share the root seed and replication
numbers, so every comparison is paired under common random numbers.
"""
