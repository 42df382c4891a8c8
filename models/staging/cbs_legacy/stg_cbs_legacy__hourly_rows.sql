{{ stage_legacy_cells('cbs_legacy_passages_per_uur', {
    'locatie': ['location_code', '$'],
    'datum': ['passage_date', "cast(strptime($, '%d-%m-%Y') as date)"],
    'uur': ['hour_of_day', 'cast($ as integer)'],
}) }}
