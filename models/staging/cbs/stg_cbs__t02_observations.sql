{{ stage_v1_observations('cbs_v1_t02_observations', {
    'location': ['location_code', '$'],
    'date': ['passage_date', 'cast($ as date)'],
    'vehiclecategory': ['vehicle_category_code', '$'],
    'fueltype': ['fuel_type_code', '$'],
}) }}
