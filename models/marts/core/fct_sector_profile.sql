{{ zone_fact(
    'int_sector_profile',
    'sector_profile_id',
    ['vehicle_category_code', 'owner_type_code', 'sbi_section_code'],
) }}
