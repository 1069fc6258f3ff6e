"""GAN Lessons: the library behind the notebooks (data, models, losses, training, metrics, plots)."""
from . import checks, cli, config, data, lab, losses, metrics, models, penalties, plots, theory, training
from .cli import doctor
from .config import TrainConfig, fast_mode, get_device, seed_everything, steps

__version__ = "0.1.0"
__all__ = ["TrainConfig", "checks", "cli", "config", "doctor", "plots", "data", "fast_mode", "get_device", "lab", "losses", "metrics", "models",
           "penalties", "seed_everything", "steps", "theory", "training"]
