"""English texts for the report (`--lang en`). Dutch is the source language of every string.

Translation happens after the pages are built and before charts are rendered, so
one set of page builders serves both languages; a string missing here stays Dutch.
"""

from __future__ import annotations

EN = {
    # page titles and intros
    "Overzicht": "Overview",
    "Logistiek verkeer (bestelauto's, vrachtauto's en trekkers) langs de camera's, de verandering ten opzichte van de vorige maand en het aandeel zero-emissie.": "Logistics traffic (vans, trucks and tractor units) past the cameras, the change against the previous month and the zero-emission share.",
    "Tijdprofiel": "Time profile",
    "Passages per uur en dag van de week, per voertuigcategorie (logistieke categorieën).": "Passages per hour and day of the week, per vehicle category.",
    "Voertuigmix": "Vehicle mix",
    "Voertuigcategorie, brandstof, emissieklasse en bouwjaar (jaar van eerste toelating).": "Vehicle category, fuel, emission class and year of first admission.",
    "ZE-zone toegang": "ZE-zone access",
    "Aandeel van de logistieke zone-inritten dat nu is toegestaan (zero-emissie of overgangsregeling) en wat de volgende regelwijziging betekent, per voertuigcategorie.": "Share of logistics zone entries allowed now (zero-emission or a transition rule) and what the next rule change means, per vehicle category.",
    "Sectoren": "Sectors",
    "Welke SBI-secties (sector van de eigenaar of lessee) de zone-inritten veroorzaken.": "Which SBI sections (sector of the owner or lessee) drive the zone entries.",
    "Herkomst": "Origin",
    "Waar de eigenaren van de voertuigen gevestigd zijn: eigen gemeente, provincie, overig Nederland, buitenland.": "Where the vehicles' owners are registered: own municipality, province, rest of the Netherlands, abroad.",
    "Bezoekfrequentie": "Visit frequency",
    "Weinig frequente bezoekers tegenover veel incidentele: unieke voertuigen naar het aantal dagen in de maand.": "Few frequent visitors versus many occasional ones: unique vehicles by number of days in the month.",
    "Locaties": "Locations",
    "Cameralocaties op de kaart: grootte naar passages, kleur naar aandeel zero-emissie.": "Camera sites on the map: size by passages, colour by zero-emission share.",
    # KPI labels
    "Logistieke passages": "Logistics passages",
    "Verandering t.o.v. vorige maand": "Change against previous month",
    "Aandeel zero-emissie (logistiek)": "Zero-emission share (logistics)",
    "Alle passages": "All passages",
    "Unieke voertuigen zone": "Unique vehicles zone",
    "Toegestaan nu (zero-emissie)": "Allowed now (zero-emission)",
    "Overgangsregeling nu": "Transition rule now",
    "Niet toegestaan nu": "Not allowed now",
    "Niet toegestaan na volgende wijziging": "Not allowed after the next change",
    "Uit eigen gemeente": "From the own municipality",
    "Uit het buitenland": "From abroad",
    "Aandeel frequente bezoekers (10+ dagen)": "Share of frequent visitors (10+ days)",
    # chart titles and axis titles
    "Logistieke passages per dag": "Logistics passages per day",
    "dag": "day",
    "passages": "passages",
    "Passages per uur x dag van de week": "Passages per hour x day of week",
    "uur": "hour",
    "Passages per voertuigcategorie": "Passages per vehicle category",
    "categorie": "category",
    "Passages per brandstof": "Passages per fuel",
    "brandstof": "fuel",
    "Zone-inritten per emissieklasse (ZE-zone)": "Zone entries per emission class (ZE zone)",
    "emissieklasse": "emission class",
    "Zone-inritten per jaar van eerste toelating (ZE-zone)": "Zone entries per year of first admission (ZE zone)",
    "jaar van eerste toelating": "year of first admission",
    "Toegang tot de ZE-zone per categorie, nu en na de volgende regelwijziging": "ZE-zone access per category, now and after the next rule change",
    "aandeel van de passages": "share of passages",
    "toegang": "access",
    "Zone-inritten per SBI-sectie (ZE-zone)": "Zone entries per SBI section (ZE zone)",
    "sectie": "section",
    "Zone-inritten naar herkomst van de eigenaar (ZE-zone)": "Zone entries by origin of the owner (ZE zone)",
    "herkomst": "origin",
    "Unieke voertuigen naar bezoekdagen (ZE-zone)": "Unique vehicles by visit days (ZE zone)",
    "dagen in de maand": "days in the month",
    "unieke voertuigen": "unique vehicles",
    "Cameralocaties": "Camera sites",
    "aandeel ZE": "ZE share",
    # notes
    "Unieke voertuigen telt CBS per zone en maand; ze worden nooit opgeteld over zones of maanden.": "CBS counts unique vehicles per zone and month; they are never added up over zones or months.",
    "Een stip markeert een cel met geheimgehouden CBS-cellen: de waarde is een ondergrens.": "A dot marks a cell with confidential CBS cells: its value is a lower bound.",
    "Regels en overgangstermijnen komen uit de seed ref_ze_access_rules (met geldigheidsdata); niet vastgestelde aankondigingen tellen niet mee. Lichtere balken bevatten geheimgehouden cellen.": "Rules and transition periods come from the seed ref_ze_access_rules (with validity dates); announcements not enacted do not count. Lighter bars contain confidential cells.",
    "De CBS-sectortabel (T04) kent geen emissieklasse: een zero-emissie-aandeel per sector kan hieruit niet worden afgeleid.": "The CBS sector table (T04) has no emission class: a zero-emission share per sector cannot be derived from it.",
    "De CBS-tabel T06 telt voertuigen, geen passages: het aandeel passages van frequente bezoekers is niet beschikbaar.": "CBS table T06 counts vehicles, not passages: the share of passages by frequent visitors is not available.",
    "Zonegrens indicatief: de omhullende van de camera's op de ZE-zonegrens (CBS levert geen zonegeometrie). Geen kaarttegels: de pagina werkt zonder internet.": "Zone outline indicative: the hull of the cameras on the ZE-zone border (CBS delivers no zone geometry). No map tiles: the page works offline.",
    # site frame
    "Stadslogistiek · ANPR (CBS)": "City logistics · ANPR (CBS)",
    "Start": "Start",
    "Standaardvisualisaties stadslogistiek": "Standard city-logistics visualisations",
    "Kies een onderwerp:": "Choose a topic:",
    "Overzicht voor": "Overview for",
    "Vega-Lite-specificatie": "Vega-Lite specification",
    "Bron: CBS, verrijkte ANPR-tabellen": "Source: CBS, enriched ANPR tables",
    "Alle getallen komen uit de metriekenlaag van het warehouse.": "Every number comes from the warehouse's metric layer.",
    "minstens": "at least",
    "en gearceerde balken: er zitten geheimgehouden CBS-cellen in (onbekend, niet nul).": "and hatched bars: confidential CBS cells are inside (unknown, not zero).",
    "nu": "now",
    "na wijziging": "after the change",
    # year view, comparison, map outline, empty states, accessibility (issue 12)
    "Jaaroverzicht": "Year view",
    "De laatste twaalf geleverde maanden: logistieke passages, aandeel zero-emissie, toegang tot de ZE-zone nu en na de volgende regelwijziging, en unieke voertuigen per zone.": "The last twelve delivered months: logistics passages, zero-emission share, ZE-zone access now and after the next rule change, and unique vehicles per zone.",
    "Logistieke passages per maand": "Logistics passages per month",
    "Aandeel zero-emissie in de logistieke passages per maand": "Zero-emission share of logistics passages per month",
    "aandeel zero-emissie": "zero-emission share",
    "Niet toegestane zone-inritten (ZE-zone), nu en na de volgende regelwijziging": "Zone entries not allowed (ZE zone), now and after the next rule change",
    "aandeel niet toegestaan": "share not allowed",
    "regels": "rules",
    "na volgende wijziging": "after the next change",
    "Unieke voertuigen per zone en maand": "Unique vehicles per zone and month",
    "maand": "month",
    "zone": "zone",
    "geen levering": "not delivered",
    "oud formaat: geen zonetabellen": "legacy layout: no zone tables",
    "geen gegevens": "no data",
    "Unieke voertuigen telt CBS per zone en maand: de balken staan naast elkaar en worden nooit opgeteld.": "CBS counts unique vehicles per zone and month: the bars stand side by side and are never added up.",
    "Een lege maand is een gat, geen nul: niet geleverd, of geleverd in het oude formaat zonder zonetabellen.": "An empty month is a gap, not a zero: not delivered, or delivered in the legacy layout without zone tables.",
    "Gearceerde balken en 'minstens': er zitten geheimgehouden CBS-cellen in; de waarde is een ondergrens.": "Hatched bars and 'at least': confidential CBS cells are inside; the value is a lower bound.",
    "Vergelijking": "Comparison",
    "De gemeenten die u mag zien, naast elkaar voor dezelfde maand: absoluut en per 1.000 passages, gerangschikt van hoog naar laag.": "The municipalities you may see, side by side for the same month: absolute and per 1,000 passages, ranked from high to low.",
    "Logistieke passages per 1.000 passages": "Logistics passages per 1,000 passages",
    "Zero-emissie per 1.000 logistieke passages": "Zero-emission per 1,000 logistics passages",
    "Niet toegestaan nu per 1.000 zone-inritten (ZE-zone)": "Not allowed now per 1,000 zone entries (ZE zone)",
    "Niet toegestaan na volgende wijziging per 1.000 zone-inritten (ZE-zone)": "Not allowed after the next change per 1,000 zone entries (ZE zone)",
    "Unieke voertuigen ZE-zone": "Unique vehicles ZE zone",
    "gemeente": "municipality",
    "geen gegevens voor deze maand": "no data for this month",
    "geen levering voor deze maand": "no delivery for this month",
    "versie": "version",
    "minimale celwaarde": "minimum cell value",
    "afronding op": "rounded to",
    "CBS: een geheimgehouden cel is onbekend, niet nul; een som met zulke cellen is een ondergrens (minstens), een verhouding ertussen is bij benadering (circa).": "CBS: a confidential cell is unknown, not zero; a sum with such cells is a lower bound (at least), a ratio between them is approximate (about).",
    "CBS: unieke voertuigen worden geteld binnen de eigen maand en zone; zones van verschillende gemeenten zijn niet even groot.": "CBS: unique vehicles are counted within their own month and zone; zones of different municipalities differ in size.",
    "CBS: gepubliceerde waarden zijn afgerond; detailcellen tellen niet per se op tot het gepubliceerde totaal.": "CBS: published values are rounded; detail cells need not add up to the published total.",
    "Gemeentegrens: CBS-wijk- en buurtkaart 2025 via PDOK, vereenvoudigd (Bron: CBS/PDOK).": "Municipal boundary: CBS district and neighbourhood map 2025 via PDOK, simplified (Source: CBS/PDOK).",
    "CBS leverde voor deze maand geen zonetabellen (oud leveringsformaat).": "CBS delivered no zone tables for this month (legacy layout).",
    "Geen gegevens voor deze maand.": "No data for this month.",
    "Nog geen leveringen van CBS voor deze gemeente.": "No deliveries from CBS for this municipality yet.",
    "Naar de inhoud": "Skip to content",
    "Onderwerpen": "Topics",
    "Kerncijfers": "Key figures",
    "Tabel met de gegevens": "Table with the data",
    "Documentatie (dbt)": "Documentation (dbt)",
    "alle modellen, kolommen, tests en de herkomst van elk getal (dbt docs).": "every model, column and test and where each number comes from (dbt docs).",
    "locatie": "site",
    "naam": "name",
}
MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def translator(lang: str):
    """t(text): the English text when lang is 'en' and one is known, else the Dutch original."""
    if lang != "en":
        return lambda text: text
    return lambda text: EN.get(text, text)


def translate_spec(node, t):
    """Translates every `title` inside a Vega-Lite spec (chart, axis and legend titles), in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "title" and isinstance(value, str):
                node[key] = t(value)
            else:
                translate_spec(value, t)
    elif isinstance(node, list):
        for item in node:
            translate_spec(item, t)
    return node
