"""The GPU runtime: pipelines and the only code that touches them (torch and diffusers)."""
