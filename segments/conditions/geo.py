"""The arithmetic of "within N km of (lat, lon)", done once per condition in Python so that the
SQL compares each stored location with constants (predicates.GeoWithin).

Distance is great-circle distance on a sphere of the Earth's mean radius (haversine): the error
against the ellipsoid is under 0.5 %, far below what a marketer's radius means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
HALF_CIRCUMFERENCE_KM = math.pi * EARTH_RADIUS_KM
# Widens the prefilter box by about a centimetre: rounding in SQL never cuts a match off.
_BOX_MARGIN_DEGREES = 1e-7


@dataclass(frozen=True)
class Circle:
    """What the SQL needs for "within `km` of (lat, lon)".

    `threshold` is sin²(km / 2R): a point is within when the haversine term
    a = sin²(Δlat/2) + cos(lat1)·cos(lat2)·sin²(Δlon/2) is at most it (the distance
    2R·asin(√a) grows with a, so no asin or square root is evaluated, and no rounding can push
    one out of its domain). None: the circle covers the whole sphere.
    `lat_box` and `lon_box` bound the circle (a cheap prefilter); `lon_box` is None when the
    circle reaches a pole or crosses the 180th meridian."""

    lat: float
    lon: float
    cos_lat: float
    threshold: float | None
    lat_box: tuple[float, float]
    lon_box: tuple[float, float] | None


def circle(lat: float, lon: float, km: float) -> Circle:
    if km >= HALF_CIRCUMFERENCE_KM:
        return Circle(lat, lon, math.cos(math.radians(lat)), None, (-90.0, 90.0), None)
    angle = km / EARTH_RADIUS_KM  # radians of arc
    spread = math.degrees(angle) + _BOX_MARGIN_DEGREES
    low, high = lat - spread, lat + spread
    lon_box = None
    if low > -90 and high < 90:
        # The widest longitude the circle reaches, at the latitude where it touches a meridian
        # (J. P. Matuschek, "Finding Points Within a Distance of a Latitude/Longitude").
        reach = math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(lat))))
        west = lon - math.degrees(reach) - _BOX_MARGIN_DEGREES
        east = lon + math.degrees(reach) + _BOX_MARGIN_DEGREES
        if west >= -180 and east <= 180:
            lon_box = (west, east)
    return Circle(
        lat=lat,
        lon=lon,
        cos_lat=math.cos(math.radians(lat)),
        threshold=math.sin(angle / 2) ** 2,
        lat_box=(max(low, -90.0), min(high, 90.0)),
        lon_box=lon_box,
    )
