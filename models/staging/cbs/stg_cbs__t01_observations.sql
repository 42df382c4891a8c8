{{ stage_v1_observations('cbs_v1_t01_observations', {
    'location': ['location_code', '$'],
    'date': ['passage_date', 'cast($ as date)'],
    'hour': ['hour_of_day', 'cast(substr($, 2) as integer)'],
    'vehiclecategory': ['vehicle_category_code', '$'],
}) }}
