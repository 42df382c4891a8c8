{{ zone_fact(
    'stg_cbs__t04_observations',
    'sector_profile_id',
    ['vehicle_category_code', 'owner_type_code', 'sbi_section_code'],
    views={
        'by_sbi_section': ['sbi_section_code'],
        'by_category_sbi_section': ['vehicle_category_code', 'sbi_section_code'],
    },
) }}
