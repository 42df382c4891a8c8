{{ stage_legacy_cells('cbs_legacy_brandstof', {
    'locatie': ['location_code', '$'],
    'datum': ['passage_date', "cast(strptime($, '%d-%m-%Y') as date)"],
    'voertuigcategorie': ['vehicle_category_word', '$'],
}) }}
