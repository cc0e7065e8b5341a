"""SLURM launchers for the 102B recipe (ROCm MI250 and NVIDIA), untested on hardware; see docs/training.md."""
