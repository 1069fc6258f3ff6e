"""GAN Lessons: the library behind the notebooks (data, models, losses, training, metrics, plots)."""
from . import (checks, classifier, cli, config, data, dynamics, fixes, image_metrics, lab, latent, losses, metrics,
               models, penalties, plots, theory, training)
from .cli import doctor
from .config import GANConfig, TrainConfig, fast_mode, get_device, seed_everything, steps
from .i18n import get_language, set_language

__version__ = "0.1.0"
__all__ = ["GANConfig", "TrainConfig", "checks", "classifier", "cli", "config", "data", "doctor", "dynamics",
           "fast_mode", "fixes", "get_device", "get_language", "image_metrics", "lab", "latent", "losses", "metrics",
           "models", "penalties", "plots", "seed_everything", "set_language", "steps", "theory", "training"]
