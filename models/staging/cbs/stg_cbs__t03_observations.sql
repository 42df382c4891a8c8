{{ stage_v1_observations('cbs_v1_t03_observations', {
    'zone': ['zone_code', '$'],
    'vehiclecategory': ['vehicle_category_code', '$'],
    'emissionclass': ['emission_class_code', '$'],
    'firstadmissionyear': ['first_admission_year_code', '$'],
}) }}
