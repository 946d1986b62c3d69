"""Random, mild changes to training spectra so a small set looks larger: noise, offset, slope, scale, x shift.

Applied to training batches only (never to validation, test or prediction data), after preprocessing, on
the device. Every amount is relative to each spectrum's own standard deviation, so the same settings suit
raw counts, absorbances and standardised spectra alike. All amounts 0 (the default) turns it off.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lightning_spectra.errors import SpectraDataError


@dataclass(frozen=True)
class Augmentation:
    """Amounts of each random change (0: off).

    Args:
        noise: std of Gaussian noise added to every point, as a share of the spectrum's std.
        offset: std of a constant added to the whole spectrum, as a share of its std.
        slope: std of a straight line added across the spectrum (its end-to-end rise), as a share of its std.
        scale: std of a multiplicative intensity factor around 1.
        shift: largest shift along the x axis, in points (whole points, wrapped at the edges by replication).
    """

    noise: float = 0.0
    offset: float = 0.0
    slope: float = 0.0
    scale: float = 0.0
    shift: int = 0

    def __post_init__(self) -> None:
        for name in ("noise", "offset", "slope", "scale", "shift"):
            if getattr(self, name) < 0:
                raise SpectraDataError(f"augmentation.{name} must be >= 0, got {getattr(self, name)}")

    def check_length(self, length: int) -> None:
        """Refuse a ``shift`` of ``length`` points or more for spectra of ``length`` points: every point would then
        be drawn from beyond an edge, and the edge-value fill flattens the spectrum into one value."""
        if self.shift >= length:
            raise SpectraDataError(
                f"augmentation.shift {self.shift} is not shorter than the spectra ({length} points), so a shift "
                f"flattens a spectrum into its edge value; give at most {length - 1} (a few points is usual)"
            )

    @property
    def is_identity(self) -> bool:
        return not (self.noise or self.offset or self.slope or self.scale or self.shift)

    def __call__(self, spectra: torch.Tensor) -> torch.Tensor:
        """An augmented copy of ``spectra`` ``(B, L)``, drawn from torch's global generator (seeded runs repeat)."""
        if self.is_identity:
            return spectra
        b, length = spectra.shape
        out = spectra
        if self.shift:
            out = shifted(out, torch.randint(-self.shift, self.shift + 1, (b,), device=out.device))
        std = spectra.std(dim=1, keepdim=True).clamp_min(1e-12)
        if self.scale:
            out = out * (1 + self.scale * torch.randn(b, 1, device=out.device, dtype=out.dtype))
        if self.offset:
            out = out + self.offset * std * torch.randn(b, 1, device=out.device, dtype=out.dtype)
        if self.slope:
            ramp = torch.linspace(-0.5, 0.5, length, device=out.device, dtype=out.dtype)
            out = out + self.slope * std * torch.randn(b, 1, device=out.device, dtype=out.dtype) * ramp
        if self.noise:
            out = out + self.noise * std * torch.randn_like(out)
        return out


def shifted(spectra: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Each row moved by its own whole number of points; edge values fill the gap."""
    length = spectra.shape[1]
    source = torch.arange(length, device=spectra.device).unsqueeze(0) - shifts.unsqueeze(1)
    return spectra.gather(1, source.clamp(0, length - 1))
