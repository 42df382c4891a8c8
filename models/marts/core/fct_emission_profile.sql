{{ zone_fact('int_emission_profile', 'emission_profile_id', [
    'vehicle_category_code', 'emission_class_code', 'first_admission_year_code'
], views={
    'by_category': ['vehicle_category_code'],
    'by_emission_class': ['emission_class_code'],
    'by_category_emission_class': ['vehicle_category_code', 'emission_class_code'],
    'by_first_admission_year': ['first_admission_year_code'],
}, extra_columns=[
    "case when cells.first_admission_year_code like 'FA%' then cast(substr(cells.first_admission_year_code, 3) as integer) end as first_admission_year"
]) }}
