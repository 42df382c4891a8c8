"""The standard questions municipalities ask (domain.md, "What municipalities want to see").

One list, used by the vendor exports and the report alike, so a vendor's package
and the municipality's own dashboard show the same numbers from the same queries.
A question may name its total: then its rows are parts of that total, and the
differencing guard checks that no single confidential cell can be recovered as
"total minus visible parts".
"""

from __future__ import annotations

from dataclasses import dataclass

from .metrics import MetricLayer, MetricResult


@dataclass(frozen=True)
class Question:
    name: str
    title_nl: str
    metrics: tuple[str, ...]
    group_by: tuple[str, ...]
    part_of: str | None = None  # metric giving the total these rows are parts of (same query minus `part_dimension`)
    part_dimension: str | None = None


QUESTIONS = (
    Question("overview_month", "Overzicht per maand",
             ("passages", "logistics_passages", "passages_change_vs_previous_month", "logistics_passages_change_vs_previous_month",
              "zero_emission_share", "logistics_zero_emission_share"), ("metric_time__month",)),
    Question("overview_day", "Passages per dag", ("passages", "logistics_passages"), ("metric_time__day",)),
    Question("time_profile", "Tijdprofiel (uur x dag van de week)", ("category_passages",),
             ("passage_hourly__day_of_week", "passage_hourly__hour_of_day", "vehicle_category")),
    Question("vehicle_mix_category", "Voertuigcategorie", ("category_passages",), ("metric_time__month", "vehicle_category"),
             part_of="passages", part_dimension="vehicle_category"),
    Question("vehicle_mix_fuel", "Brandstof", ("fuel_passages",), ("metric_time__month", "fuel_type"),
             part_of="fuel_total_passages", part_dimension="fuel_type"),
    Question("vehicle_mix_emission", "Emissieklasse", ("emission_class_passages",), ("zone", "metric_time__month", "emission_class"),
             part_of="zone_passages", part_dimension="emission_class"),
    Question("vehicle_mix_first_admission", "Jaar van eerste toelating", ("first_admission_passages",),
             ("zone", "metric_time__month", "first_admission_year"), part_of="zone_passages", part_dimension="first_admission_year"),
    Question("zone_overview", "Zone: binnenkomende voertuigen",
             ("zone_passages", "zone_logistics_passages", "unique_vehicles", "unique_logistics_vehicles"), ("zone", "metric_time__month")),
    Question("ze_access", "ZE-zone: toegang nu en na de volgende regelwijziging",
             ("ze_allowed_share", "ze_transition_share", "ze_not_allowed_share", "ze_unknown_share",
              "ze_allowed_share_next", "ze_transition_share_next", "ze_not_allowed_share_next", "ze_unknown_share_next"),
             ("zone", "metric_time__month")),
    Question("ze_access_by_category", "ZE-zone: toegang per voertuigcategorie",
             ("ze_allowed_passages", "ze_transition_passages", "ze_not_allowed_passages", "ze_unknown_passages", "ze_total_passages",
              "ze_allowed_passages_next", "ze_transition_passages_next", "ze_not_allowed_passages_next", "ze_unknown_passages_next",
              "ze_total_passages_next"),
             ("zone", "metric_time__month", "vehicle_category")),
    Question("sectors", "Sectoren (SBI)", ("sector_passages", "logistics_sector_passages"), ("zone", "metric_time__month", "sbi_section"),
             part_of="zone_passages", part_dimension="sbi_section"),
    Question("origin", "Herkomst", ("origin_passages",), ("zone", "metric_time__month", "owner_region"),
             part_of="origin_total_passages", part_dimension="owner_region"),
    Question("origin_shares", "Herkomst: aandelen", ("own_municipality_share", "abroad_share"), ("zone", "metric_time__month")),
    Question("visit_frequency", "Bezoekfrequentie", ("visit_class_vehicles",), ("zone", "metric_time__month", "visit_day_class"),
             part_of="unique_vehicles", part_dimension="visit_day_class"),
    Question("visit_frequency_share", "Aandeel frequente bezoekers", ("frequent_visitor_share",), ("zone", "metric_time__month")),
    Question("locations", "Per cameralocatie", ("passages", "logistics_passages"), ("location", "metric_time__month")),
    Question("locations_zero_emission", "Per cameralocatie: zero-emissie", ("zero_emission_share",), ("location", "metric_time__month")),
)


def month_filter(municipality: str, month_start: str | None) -> list[str]:
    """MetricFlow filters for one municipality (and optionally one month)."""
    filters = [f"{{{{ Entity('municipality') }}}} = '{municipality}'"]
    if month_start:
        filters.append(f"{{{{ TimeDimension('metric_time', 'month') }}}} = '{month_start}'")
    return filters


def answer(layer: MetricLayer, question: Question, municipality: str, month_start: str | None) -> MetricResult:
    return layer.query(list(question.metrics), list(question.group_by), month_filter(municipality, month_start))


def total_for(layer: MetricLayer, question: Question, municipality: str, month_start: str | None) -> MetricResult | None:
    """The total the question's rows are parts of, grouped like the question minus the part dimension."""
    if not question.part_of:
        return None
    group_by = [g for g in question.group_by if g != question.part_dimension]
    return layer.query([question.part_of], group_by, month_filter(municipality, month_start))
