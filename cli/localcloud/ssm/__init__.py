"""SSM on the local cloud: moto's, plus its patch (patch.py: the public parameters the stacks resolve)."""
