{{ stage_v1_observations('cbs_v1_t05_observations', {
    'zone': ['zone_code', '$'],
    'vehiclecategory': ['vehicle_category_code', '$'],
    'ownerregion': ['owner_region_code', '$'],
}) }}
