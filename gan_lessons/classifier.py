"""The package's own MNIST classifier: a small CNN that the image metrics look through (lesson 10).

Published GAN metrics look through Inception-v3, trained on ImageNet; its weights are a download that an
offline classroom does not have, and it has never seen a handwritten digit. This CNN is trained by the
package itself in well under a minute on a CPU, seeded, and cached as a state_dict plus plain metadata in
`classifier.pt` (read back with checkpoints.read_checkpoint, as every checkpoint: a cache file can never
run code, and a damaged one is trained again).

Which images it learns from: with the full MNIST it trains on the 60,000 training images and reports its
accuracy on the 10,000 test images. With only the 10,000-image test split (an offline classroom, the tests),
a seeded permutation (`SPLIT_SEED`) holds out `HELD_OUT` of them and trains on the rest.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checkpoints import read_checkpoint
from .data.images import to_unit_range
from .files import atomic_write
from .i18n import tr
from .data.mnist import CACHE_DIR, REPO_DATA_DIR, default_data_dir, load_mnist, load_mnist_for_training, search_dirs

CACHE_NAME = "classifier.pt"
VERSION = 1  # bump when the architecture or the training recipe changes: older caches are retrained
SPLIT_SEED = 0  # the permutation that picks the held-out images when only the test split exists
HELD_OUT = 2000  # images held out of the 10,000-image test split to measure the accuracy
EPOCHS = {"test": 7, "train": 2}  # passes over the training images: 8,000 images need more passes than 60,000
BATCH = 128
FEATURE_DIM = 128  # width of the penultimate layer, the features of the Frechet distance


class MNISTClassifier(nn.Module):
    """x (N, 1, 28, 28) in [-1, 1] -> logits (N, 10).

    Shapes: conv 3x3 (16) -> pool -> (N, 16, 14, 14) -> conv 3x3 (32) -> pool -> (N, 32, 7, 7)
    -> Linear 1568 -> 128 (the features) -> Linear 128 -> 10.
    """

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 7 * 7, FEATURE_DIM), nn.ReLU(),
        )
        self.head = nn.Linear(FEATURE_DIM, 10)
        self.metadata: dict = {}  # accuracy, split, held-out size, seconds: filled by training or loading

    def embed(self, x: Tensor) -> Tensor:
        """The penultimate layer (N, FEATURE_DIM): what the Frechet distance and precision/recall compare."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (N, 10) of images (N, 1, 28, 28)."""
        return self.head(self.body(x))


def _check_images(images: Tensor) -> Tensor:
    if not isinstance(images, Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(tr("images={shape} is not allowed; expected a tensor of shape (N, 1, 28, 28) in [-1, 1]",
                            shape=shape))
    return images.float()


@torch.no_grad()
def _batched(model: nn.Module, fn, images: Tensor, batch: int = 1000) -> Tensor:
    """fn(model, chunk) over chunks of images, in eval mode, on the model's device; the result on the CPU."""
    images = _check_images(images)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = torch.cat([fn(model, images[i:i + batch].to(device)).cpu() for i in range(0, len(images), batch)])
    model.train(was_training)
    return out


def predict_proba(model: nn.Module, images: Tensor) -> Tensor:
    """p(y | x) for images (N, 1, 28, 28) in [-1, 1]: a (N, 10) tensor whose rows sum to 1."""
    return _batched(model, lambda m, x: F.softmax(m(x), dim=1), images)


def features(model: nn.Module, images: Tensor) -> Tensor:
    """The penultimate-layer features (N, FEATURE_DIM) of images (N, 1, 28, 28) in [-1, 1]."""
    return _batched(model, lambda m, x: m.embed(x), images)


def classifier_accuracy(model: nn.Module) -> float:
    """The held-out accuracy measured when the model was trained (kept in the cache's metadata)."""
    return float(model.metadata["accuracy"])


# -- data ------------------------------------------------------------------------------------------
def training_split(root=None) -> tuple[Tensor, Tensor, Tensor, Tensor, str]:
    """(x_train, y_train, x_held_out, y_held_out, split), images in [-1, 1] shaped (N, 1, 28, 28).

    split is "train" (60,000 to train on, the 10,000 test images held out) or "test" (only the test split
    is here: a permutation seeded with SPLIT_SEED holds out HELD_OUT images and the rest are trained on).
    """
    images, labels, split = load_mnist_for_training(root)
    if split == "train":
        x_test, y_test = load_mnist("test", root, download=True)
        return to_unit_range(images), labels, to_unit_range(x_test), y_test, split
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(SPLIT_SEED))
    train_idx, held_idx = order[HELD_OUT:], order[:HELD_OUT]
    x = to_unit_range(images)
    return x[train_idx], labels[train_idx], x[held_idx], labels[held_idx], split


def held_out_accuracy(model: nn.Module, root=None) -> float:
    """Accuracy on the held-out images of `training_split` (measured afresh, not read from the cache)."""
    *_, x_held, y_held, _ = training_split(root)
    return (predict_proba(model, x_held).argmax(1) == y_held).float().mean().item()


# -- training --------------------------------------------------------------------------------------
def _shift(x: Tensor, generator: torch.Generator, pixels: int = 2) -> Tensor:
    """Each image moved by a random whole-pixel shift of up to `pixels` (augmentation: digits are not centred
    exactly, and 8,000 images are few for a CNN)."""
    n = len(x)
    padded = F.pad(x, (pixels,) * 4, value=-1.0)  # -1 is the background
    dx, dy = (torch.randint(0, 2 * pixels + 1, (2, n), generator=generator))
    rows = (dy[:, None] + torch.arange(28))[:, :, None]  # (n, 28, 1)
    cols = (dx[:, None] + torch.arange(28))[:, None, :]  # (n, 1, 28)
    return padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)


def train_classifier(root=None, device="cpu", seed: int = 0, verbose: bool = True) -> MNISTClassifier:
    """Train the CNN (Adam, one-cycle learning rate, shifted images) and measure its held-out accuracy."""
    x_train, y_train, x_held, y_held, split = training_split(root)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = MNISTClassifier().to(device)
    epochs, start = EPOCHS[split], time.perf_counter()
    steps = epochs * (len(x_train) // BATCH)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    for _ in range(epochs):
        order = torch.randperm(len(x_train), generator=generator)
        for i in range(len(x_train) // BATCH):
            idx = order[i * BATCH:(i + 1) * BATCH]
            x = _shift(x_train[idx], generator).to(device)
            loss = F.cross_entropy(model(x), y_train[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
    accuracy = (predict_proba(model, x_held).argmax(1) == y_held).float().mean().item()
    model.metadata = {"version": VERSION, "accuracy": accuracy, "split": split, "train_size": len(x_train),
                      "held_out_size": len(x_held), "epochs": epochs, "seed": seed,
                      "seconds": round(time.perf_counter() - start, 1)}
    if verbose:
        print(_describe(model.metadata))
    return model


def _describe(meta: dict) -> str:
    held = (tr("the 10,000 test images") if meta["split"] == "train"
            else tr("{held:,} held-out images of the test split (trained on the other {trained:,})",
                    held=meta["held_out_size"], trained=meta["train_size"]))
    return tr("MNIST classifier: accuracy {accuracy:.2f}% on {held}", accuracy=100 * meta["accuracy"], held=held)


# -- the cache -------------------------------------------------------------------------------------
def _writable_folder(root) -> Path:
    """The first folder where the cache can be written: root, the data folder, data/, then ~/.cache/gan_lessons;
    a folder without write permission bits (a shared, read-only copy of MNIST) is skipped."""
    folders = [Path(root)] if root is not None else []
    for folder in dict.fromkeys([*folders, default_data_dir(), REPO_DATA_DIR, CACHE_DIR]):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if folder.stat().st_mode & 0o222 == 0:
                continue  # marked read-only (a shared data folder): root could write there, but should not
            tempfile.TemporaryFile(dir=folder).close()
            return folder
        except OSError:
            continue  # not writable: try the next one
    raise OSError(tr("no writable folder for {name}: tried {folders}; pass root= a folder you can write to",
                     name=CACHE_NAME, folders=f"{root}, {default_data_dir()}, {REPO_DATA_DIR}, {CACHE_DIR}"))


def save_classifier(model: MNISTClassifier, folder: Path) -> Path:
    """Write state_dict + metadata atomically (files.atomic_write)."""
    path = Path(folder) / CACHE_NAME
    with atomic_write(path) as f:  # never half a cache behind
        torch.save({"state_dict": model.state_dict(), "metadata": model.metadata}, f)
    return path


def _load_cached(path: Path, split: str, device) -> MNISTClassifier | None:
    """The cached model if the file is readable, of this VERSION and trained on the split available now."""
    try:
        state = read_checkpoint(path)  # a CheckpointError (a ValueError) for a file that is damaged or unsafe
        meta = state["metadata"]
        if meta.get("version") != VERSION or meta.get("split") != split:
            return None
        model = MNISTClassifier()
        model.load_state_dict(state["state_dict"])
    except (ValueError, RuntimeError, KeyError, TypeError, AttributeError):
        return None  # unreadable, or from another version: train again
    model.metadata = dict(meta)
    return model.to(device).eval()


def load_classifier(root=None, device="cpu", verbose: bool = True) -> MNISTClassifier:
    """The cached classifier (searched like MNIST: root, $GAN_LESSONS_DATA, data/, ~/.cache/gan_lessons), or a
    freshly trained one, cached in the first writable of those folders. In eval mode, on `device`."""
    from .data.mnist import mnist_available

    split = "train" if mnist_available("train", root) else "test"
    for folder in search_dirs(root):  # root, $GAN_LESSONS_DATA, data/, ~/.cache/gan_lessons
        if (folder / CACHE_NAME).is_file():
            model = _load_cached(folder / CACHE_NAME, split, device)
            if model is not None:
                if verbose:
                    print(_describe(model.metadata) + " " + tr("(cached in {path})", path=folder / CACHE_NAME))
                return model
    model = train_classifier(root, device=device, verbose=verbose)
    path = save_classifier(model, _writable_folder(root))
    if verbose:
        print(tr("trained in {seconds:.0f} s and cached in {path}", seconds=model.metadata["seconds"], path=path))
    return model.eval()
