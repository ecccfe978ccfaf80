"""morphapp: morph between images through the latent space of diffusion models."""

__version__ = "0.1.0"
