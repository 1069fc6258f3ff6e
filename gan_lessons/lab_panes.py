"""The live lab's panes: how each draws a `Frame` (lab_frames.py), alone in a live figure or all in a still one.

Each pane owns its artists and only updates their data, so one matplotlib figure per pane serves every
frame, and `LivePane` redraws only what moved. No pyplot here: figures are `matplotlib.figure.Figure`
objects rendered by the Agg canvas into PNG bytes. A pane's words (titles, legends, axis labels) are in the
language in use when it draws a frame (i18n.py): a change of language redraws its background.
"""
from __future__ import annotations

import io
import math

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from .config import BCE_LOSSES
from .i18n import get_language, tr
from .lab_frames import DIVERGENCE_BINS, Frame
from .plots import FAKE_COLOUR, REAL_COLOUR


class SamplesPane:
    """Real (blue) and generated (orange) samples with the mode centres."""

    def __init__(self, ax) -> None:
        self.ax = ax
        self.real = ax.scatter([], [], s=4, c=REAL_COLOUR, alpha=0.6, linewidths=0)
        self.centres = ax.scatter([], [], marker="+", c="k", s=16, lw=0.8)
        self.fake = ax.scatter([], [], s=4, c=FAKE_COLOUR, alpha=0.6, linewidths=0)
        self.dynamic = [self.fake]  # redrawn every frame; the rest changes only with the target
        ax.set_aspect("equal")
        self.language = None  # the language of the pane's words

    def label(self) -> None:
        """The legend and the title, in the language in use."""
        self.real.set_label(tr("real"))
        self.fake.set_label(tr("generated"))
        self.ax.legend(loc="upper right", fontsize=7, markerscale=2)
        self.ax.set_title(tr("real vs generated samples"), fontsize=9)

    def update(self, frame: Frame) -> tuple:
        """Show the frame's samples; the key of what the background shows."""
        language = in_language(self)
        self.fake.set_offsets(frame.fake)
        self.real.set_offsets(frame.real)
        self.centres.set_offsets(frame.centres)
        return _square(self.ax, frame) + (language,)


class HeatmapPane:
    """D's output over the plane, with the generated samples on top. A packed D (PacGAN) judges m samples at once:
    at each point it is shown m copies of that point, and the title says so."""

    def __init__(self, ax) -> None:
        self.ax = ax
        self.image = ax.imshow(np.zeros((2, 2)), origin="lower", cmap="RdBu", vmin=0, vmax=1, alpha=0.8)
        self.fake = ax.scatter([], [], s=3, c=FAKE_COLOUR, alpha=0.5, linewidths=0)
        self.dynamic = [self.image, self.fake]
        ax.figure.colorbar(self.image, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=7)
        self.clim = (0.0, 1.0)
        self.language = None  # the language of the pane's words

    def label(self) -> None:
        """Nothing: the title, which says how to read D's output, is made for every frame."""

    def update(self, frame: Frame) -> tuple:
        """Show D's output on the grid, coloured as its loss reads it; the key of the background."""
        in_language(self)  # the title's font (its words change with the title, in the key)
        e = frame.extent
        self.image.set_data(frame.heat)
        self.image.set_extent((-e, e, -e, e))
        shown = "x" if frame.pack == 1 else tr("{m} copies of x", m=frame.pack)  # what each grid point shows D
        if frame.loss in BCE_LOSSES:
            self.clim, title = (0.0, 1.0), tr("D: P(real) = σ(D({shown}))", shown=shown)
        else:  # LSGAN, WGAN and hinge: D's raw output, colours over a range that changes only when it must
            self.clim = stable_range(self.clim, float(frame.heat.min()), float(frame.heat.max()))
            title = (tr("D({shown}), raw (1 real, 0 fake)", shown=shown) if frame.loss == "lsgan"
                     else tr("D({shown}), raw: critic score", shown=shown))
        self.image.set_clim(*self.clim)
        self.fake.set_offsets(frame.fake)
        self.ax.set_title(title, fontsize=9)
        return _square(self.ax, frame) + (self.clim, title)


class ArrowsPane:
    """-grad_x L_G at generated points: the direction in which G's next update moves each sample."""

    def __init__(self, ax) -> None:
        self.ax = ax
        self.real = ax.scatter([], [], s=3, c=REAL_COLOUR, alpha=0.3, linewidths=0)
        self.fake = ax.scatter([], [], s=6, c=FAKE_COLOUR, linewidths=0)
        self.note = ax.text(0.02, 0.02, "", transform=ax.transAxes, fontsize=7)
        self.quiver = None  # made on the first frame: a quiver's number of arrows is fixed
        self.dynamic = [self.fake, self.note]
        self.language = None  # the language of the pane's words

    def label(self) -> None:
        """The title, in the language in use."""
        self.ax.set_title(tr("−∇ₓ L_G: where G's update moves its samples"), fontsize=9)

    def update(self, frame: Frame) -> tuple:
        """Show G's push on its samples, the longest arrow a tenth of the view; the key of the background."""
        language = in_language(self)
        norms = np.linalg.norm(frame.arrow_dir, axis=1)
        longest = float(norms.max()) if len(norms) else 0.0
        scale = 0.2 * frame.extent / longest if longest > 0 else 0.0  # the longest arrow: a tenth of the view
        u, v = (frame.arrow_dir * scale).T
        if self.quiver is None or self.quiver.N != len(frame.arrow_from):
            if self.quiver is not None:
                self.quiver.remove()
            self.quiver = self.ax.quiver(*frame.arrow_from.T, u, v, angles="xy", scale_units="xy", scale=1,
                                         width=0.006, color="k", alpha=0.7)
            self.dynamic = [self.fake, self.quiver, self.note]
        self.quiver.set_offsets(frame.arrow_from)
        self.quiver.set_UVC(u, v)
        self.real.set_offsets(frame.real)
        self.fake.set_offsets(frame.arrow_from)
        self.note.set_text(tr("longest arrow: |∇| = {longest:.2g}", longest=longest))
        return _square(self.ax, frame) + (self.quiver.N, language)


class ManifoldPane:
    """G's manifold, as GAN Lab draws it: the lines of a grid of the noise plane (z1, z2), mapped by G into the
    data plane; lines of constant z1 in one colour, of constant z2 in another, over faint real samples."""

    COLOURS = ("tab:purple", "tab:green")  # z1 fixed, z2 fixed

    def __init__(self, ax) -> None:
        self.ax = ax
        self.real = ax.scatter([], [], s=3, c=REAL_COLOUR, alpha=0.15, linewidths=0)
        self.centres = ax.scatter([], [], marker="+", c="k", s=16, lw=0.8)
        self.lines = [ax.add_collection(LineCollection([], colors=c, linewidths=0.8, alpha=0.8))
                      for c in self.COLOURS]
        self.dynamic = list(self.lines)
        self.z_dim = None  # the legend and the title follow the noise dimension
        self.language = None  # ... and the language in use
        ax.set_aspect("equal")

    def label(self) -> None:
        """The legend's words, in the language in use (`update` draws the legend and the title)."""
        for collection, label in zip(self.lines, (tr("z₁ fixed"), tr("z₂ fixed"))):
            collection.set_label(label)
        self.z_dim = None  # the title and the legend are made again

    def update(self, frame: Frame) -> tuple:
        """Show G's image of the grid; the key of the background (the title says which slice it is)."""
        language = in_language(self)
        if frame.z_dim == 1:  # the noise line: one curve, along which z1 runs
            segments = ([], list(frame.manifold))
        else:
            half = len(frame.manifold) // 2
            segments = (list(frame.manifold[:half]), list(frame.manifold[half:]))
        for collection, lines in zip(self.lines, segments):
            collection.set_segments(lines)
        self.real.set_offsets(frame.real)
        self.centres.set_offsets(frame.centres)
        if frame.z_dim != self.z_dim:
            self.z_dim = frame.z_dim
            self.ax.set_title(manifold_title(frame.z_dim), fontsize=8.5)
            if frame.z_dim > 1:
                self.ax.legend(handles=self.lines, loc="upper right", fontsize=7)
            elif self.ax.get_legend() is not None:  # one curve: the title says what it is
                self.ax.get_legend().remove()
        return _square(self.ax, frame) + (frame.z_dim, language)


def manifold_title(z_dim: int) -> str:
    """What the manifold pane shows, for a noise dimension z_dim (in the language in use)."""
    title = tr("G's manifold: the z-plane's grid mapped by G")
    if z_dim == 1:
        return title + "\n" + tr("(the noise line)")
    if z_dim == 2:
        return title
    return title + "\n" + (tr("(slice z3 = 0)") if z_dim == 3 else tr("(slice z3..z{z_dim} = 0)", z_dim=z_dim))


class CurvesPane:
    """Losses (top) and D's mean outputs on real and generated samples (bottom) over the steps."""

    def __init__(self, ax_loss, ax_d) -> None:
        self.ax_loss, self.ax_d = ax_loss, ax_d
        self.lines = {
            "loss_d": ax_loss.plot([], [], lw=1)[0],
            "loss_g": ax_loss.plot([], [], lw=1)[0],
            "d_real": ax_d.plot([], [], lw=1, c=REAL_COLOUR)[0],
            "d_fake": ax_d.plot([], [], lw=1, c=FAKE_COLOUR)[0],
        }
        self.dynamic = list(self.lines.values())
        self.steps, self.losses = (0.0, 100.0), (0.0, 1.0)
        ax_d.axhline(0.5, c="k", lw=0.6, ls=":")  # the original GAN's equilibrium: D = 1/2 everywhere
        ax_d.set_ylim(-0.02, 1.02)
        for ax in (ax_loss, ax_d):
            ax.tick_params(labelsize=7)
        self.language = None  # the language of the pane's words

    def label(self) -> None:
        """The legends, the axis label and the title, in the language in use."""
        labels = {"loss_d": tr("loss D"), "loss_g": tr("loss G"), "d_real": tr("σ(D(x)), real"),
                  "d_fake": tr("σ(D(G(z))), generated")}
        for key, line in self.lines.items():
            line.set_label(labels[key])
        self.ax_d.set_xlabel(tr("step"), fontsize=8)
        self.ax_loss.set_title(tr("losses, D's mean outputs"), fontsize=9)
        for ax in (self.ax_loss, self.ax_d):
            ax.legend(loc="upper center", ncols=2, fontsize=6.5, framealpha=0.7, handlelength=1.2)

    def update(self, frame: Frame) -> tuple:
        """Show the curves on axes that grow in jumps; the key of the background."""
        language = in_language(self)
        steps = frame.curves.get("step", np.zeros(0))
        for key, line in self.lines.items():
            line.set_data(steps, frame.curves.get(key, np.zeros(0)))
        if len(steps):  # axes that grow in jumps: the frame's background is redrawn only then
            self.steps = (float(steps[0]), 2 * float(steps[-1]) if steps[-1] > self.steps[1]
                          else self.steps[1])
            losses = np.concatenate([frame.curves["loss_d"], frame.curves["loss_g"]])
            losses = losses[np.isfinite(losses)]
            if len(losses):
                self.losses = stable_range(self.losses, float(losses.min()), float(losses.max()))
        self.ax_loss.set_xlim(*self.steps)
        self.ax_d.set_xlim(*self.steps)
        self.ax_loss.set_ylim(*self.losses)
        return self.steps, self.losses, language


def in_language(pane) -> str:
    """The language in use, after labelling `pane` in it (its `label()`) if it was labelled in another: a pane's
    `update` calls it first and puts the language into its key, so that new words redraw the background. The words
    made before are given the fonts in use now: set_language("zh") adds a Chinese font after they were made."""
    language = get_language()
    if pane.language != language:
        pane.language = language
        pane.label()
        figure = (pane.ax if hasattr(pane, "ax") else pane.ax_loss).figure
        for text in figure.findobj(Text):
            text.set_fontfamily(mpl.rcParams["font.family"])
    return language


def stable_range(old: tuple[float, float], low: float, high: float) -> tuple[float, float]:
    """`old` while it holds [low, high] and is less than 4 times as wide; else [low, high] with a margin."""
    width = max(high - low, 1e-3)
    if old[0] <= low and high <= old[1] and old[1] - old[0] < 4 * width:
        return old
    return low - 0.25 * width, high + 0.25 * width


def _square(ax, frame: Frame) -> tuple:
    """Show [-extent, extent]^2; the key that says when the pane's background must be drawn again."""
    ax.set_xlim(-frame.extent, frame.extent)
    ax.set_ylim(-frame.extent, frame.extent)
    ax.tick_params(labelsize=7)
    return frame.extent, frame.centres.tobytes(), frame.real.tobytes()


PANE_NAMES = ("samples", "discriminator", "arrows", "manifold", "curves")


def add_pane(fig: Figure, name: str, spec=None):
    """Make pane `name` on `fig` (in the subplot spec `spec`, or filling the figure)."""
    if name == "curves":
        grid = spec.subgridspec(2, 1, hspace=0.1) if spec is not None else fig.add_gridspec(2, 1, hspace=0.1)
        ax_loss = fig.add_subplot(grid[0])
        ax_d = fig.add_subplot(grid[1], sharex=ax_loss)
        ax_loss.tick_params(labelbottom=False)
        return CurvesPane(ax_loss, ax_d)
    ax = fig.add_subplot(spec) if spec is not None else fig.add_subplot()
    panes = {"samples": SamplesPane, "discriminator": HeatmapPane, "arrows": ArrowsPane, "manifold": ManifoldPane}
    return panes[name](ax)


LIVE_MARGINS = {"default": dict(left=0.1, right=0.97, bottom=0.08, top=0.92),
                "discriminator": dict(left=0.1, right=0.9, bottom=0.08, top=0.92),
                "manifold": dict(left=0.1, right=0.97, bottom=0.08, top=0.87),  # room for a title of two lines
                "curves": dict(left=0.13, right=0.97, bottom=0.12, top=0.92)}


class LivePane:
    """One pane in its own figure, drawn for every frame into PNG bytes.

    The figure is made once. What changes only now and then (axes, ticks, legends, the real samples) is drawn
    into a background that is kept; a frame restores it and draws only the pane's `dynamic` artists on top
    (matplotlib's blitting), which is several times faster than drawing the whole figure.
    """

    def __init__(self, name: str, size: tuple[float, float] = (3.4, 3.2), dpi: int = 80) -> None:
        self.figure = Figure(figsize=size, dpi=dpi)  # margins fixed once: a layout engine would cost each frame
        self.figure.subplots_adjust(**LIVE_MARGINS.get(name, LIVE_MARGINS["default"]))
        self.canvas = FigureCanvasAgg(self.figure)
        self.pane = add_pane(self.figure, name)
        self._key, self._background = None, None

    def render(self, frame: Frame) -> bytes:
        """The pane for `frame` as PNG bytes, the background redrawn only when its key changed."""
        key = self.pane.update(frame)
        if key != self._key:
            for artist in self.pane.dynamic:
                artist.set_visible(False)
            self.canvas.draw()
            self._background, self._key = self.canvas.copy_from_bbox(self.figure.bbox), key
            for artist in self.pane.dynamic:
                artist.set_visible(True)
        self.canvas.restore_region(self._background)
        for artist in self.pane.dynamic:
            self.figure.draw_artist(artist)
        return encode_png(self.canvas)


def encode_png(canvas: FigureCanvasAgg) -> bytes:
    """What the canvas holds now, as PNG; light compression, as frames go to the browser many times a second."""
    width, height = canvas.get_width_height(physical=True)
    buffer = io.BytesIO()
    Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1).save(
        buffer, format="png", compress_level=1)
    return buffer.getvalue()


def png_bytes(canvas: FigureCanvasAgg) -> bytes:
    """The whole figure drawn afresh, as PNG."""
    canvas.draw()
    return encode_png(canvas)


def snapshot_figure(frame: Frame) -> Figure:
    """All the panes side by side in one new figure, in the order of PANE_NAMES: the lab's state as a still
    picture."""
    fig = Figure(figsize=(3.4 * len(PANE_NAMES), 3.4), dpi=80, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1, len(PANE_NAMES))
    for i, name in enumerate(PANE_NAMES):
        add_pane(fig, name, grid[i]).update(frame)
    return fig


def coverage_text(coverage: dict[str, float], n_modes: int) -> str:
    """'modes covered: 7 of 8 · high quality: 91.2% · reverse KL: 0.04' (the VEEGAN / PacGAN protocol), then,
    when the coverage has them, KL and JS between the histograms of real and generated samples on the frames' grid:
    '· on a 20×20 grid: KL(real‖G) 0.12, JS 0.03'."""
    if not coverage:
        return tr("modes covered: not measured yet")
    rkl = coverage["rkl"]
    rkl_text = f"{rkl:.2f}" if math.isfinite(rkl) else tr("∞ (no sample near a mode)")
    text = tr("modes covered: <b>{modes} of {n_modes}</b> · high quality (within 3σ of a mode): {hq:.1f}% · "
              "reverse KL: {rkl}", modes=coverage["modes"], n_modes=n_modes, hq=coverage["hq"], rkl=rkl_text)
    if "kl_grid" in coverage:
        text += tr(" · on a {bins}×{bins} grid: KL(real‖G) {kl:.2f}, JS {js:.2f}", bins=DIVERGENCE_BINS,
                   kl=coverage["kl_grid"], js=coverage["js_grid"])
    return text
