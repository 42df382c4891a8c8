{{ harmonise_zone_table('stg_cbs__t04_observations', [
    'zone_code', 'vehicle_category_code', 'owner_type_code', 'sbi_section_code'
]) }}
