"""The city's boundary and distances on the ground, in plain math (no GIS library needed).

The boundary is a GeoJSON file (`CITYHALL_BOUNDARY`; default the demo city's outline shipped
in reports/data/). Points are WGS84 (latitude, longitude) as LINE and GeoJSON give them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from cityhall.languages import place_name_language

DEFAULT_BOUNDARY = Path(__file__).resolve().parent / "data" / "minokamo.geojson"
EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)


class BoundaryError(ValueError):
    """The configured boundary file cannot be used."""


@dataclass(frozen=True)
class Boundary:
    """The city's outline: polygons of rings of (lon, lat), the names, district centres."""

    polygons: list[list[list[tuple[float, float]]]]
    name_ja: str
    name_en: str
    geojson: dict[str, Any]
    districts: dict[str, tuple[float, float]] = field(default_factory=dict)

    def name(self, language: str | None) -> str:
        """The city's name as a resident of `language` reads a place's (kanji readers: Japanese)."""
        return self.name_en if place_name_language(language) == "en" else self.name_ja

    def contains(self, lat: float, lon: float) -> bool:
        """Tell whether a point is inside the city (inside an outer ring, not in a hole)."""
        return any(_in_ring(lon, lat, rings[0]) and not any(_in_ring(lon, lat, hole)
                                                            for hole in rings[1:])
                   for rings in self.polygons)

    def district_of(self, lat: float, lon: float) -> str | None:
        """Return the district whose centre is nearest (the demo file has no district shapes)."""
        if not self.districts:
            return None
        return min(self.districts, key=lambda code: distance_m(
            lat, lon, self.districts[code][1], self.districts[code][0]))

    def bounds(self) -> tuple[float, float, float, float]:
        """Return (min lon, min lat, max lon, max lat)."""
        points = [p for rings in self.polygons for ring in rings for p in ring]
        return (min(p[0] for p in points), min(p[1] for p in points),
                max(p[0] for p in points), max(p[1] for p in points))


def _in_ring(x: float, y: float, ring: list[tuple[float, float]]) -> bool:
    """Ray casting: count the ring's edges a ray from the point to the east crosses."""
    inside = False
    j = len(ring) - 1
    for i, (xi, yi) in enumerate(ring):
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def box_around(lat: float, lon: float, metres: float) -> tuple[float, float, float, float]:
    """Return (min lat, max lat, min lon, max lon) of a box holding the circle (index lookup)."""
    dlat = math.degrees(metres / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _polygons(geometry: dict[str, Any]) -> list[list[list[tuple[float, float]]]]:
    kind = geometry.get("type")
    if kind == "Polygon":
        shapes = [geometry["coordinates"]]
    elif kind == "MultiPolygon":
        shapes = geometry["coordinates"]
    else:
        raise BoundaryError(f"a boundary must be a Polygon or MultiPolygon, not {kind!r}")
    return [[[(float(p[0]), float(p[1])) for p in ring] for ring in shape] for shape in shapes]


def parse_boundary(data: dict[str, Any]) -> Boundary:
    """Read a GeoJSON FeatureCollection, Feature or geometry into a Boundary."""
    features = data.get("features") if data.get("type") == "FeatureCollection" else [data]
    polygons: list[list[list[tuple[float, float]]]] = []
    props: dict[str, Any] = {}
    for feature in features or []:
        geometry = feature.get("geometry", feature) if feature.get("type") == "Feature" else feature
        polygons += _polygons(geometry)
        props = props or feature.get("properties") or {}
    if not polygons:
        raise BoundaryError("the boundary file holds no polygon")
    districts = {code: (float(p[0]), float(p[1]))
                 for code, p in (props.get("districts") or {}).items()}
    name_ja = props.get("name_ja") or props.get("name") or "市"
    return Boundary(polygons, name_ja, props.get("name_en") or name_ja, data, districts)


@lru_cache(maxsize=8)
def load_boundary(path: str | None = None) -> Boundary:
    """Read the boundary file (default: the demo city's), once per path."""
    target = Path(path) if path else DEFAULT_BOUNDARY
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BoundaryError(f"boundary file {target}: {err}") from err
    return parse_boundary(data)
