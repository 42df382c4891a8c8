{{ stage_v1_observations('cbs_v1_t06_observations', {
    'zone': ['zone_code', '$'],
    'vehiclecategory': ['vehicle_category_code', '$'],
    'visitdayclass': ['visit_day_class_code', '$'],
}) }}
