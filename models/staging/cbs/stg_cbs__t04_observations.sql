{{ stage_v1_observations('cbs_v1_t04_observations', {
    'zone': ['zone_code', '$'],
    'vehiclecategory': ['vehicle_category_code', '$'],
    'ownertype': ['owner_type_code', '$'],
    'sbisection': ['sbi_section_code', '$'],
}) }}
