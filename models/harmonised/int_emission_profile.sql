{{ harmonise_zone_table('stg_cbs__t03_observations', [
    'zone_code', 'vehicle_category_code', 'emission_class_code', 'first_admission_year_code'
]) }}
