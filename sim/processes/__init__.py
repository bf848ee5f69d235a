"""What things do: SimPy processes for supply, the production stages, certification, transport and
distribution."""
