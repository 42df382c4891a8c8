{{ zone_fact('stg_cbs__t06_observations', 'visit_frequency_id', ['vehicle_category_code', 'visit_day_class_code'],
    views={'by_visit_day_class': ['visit_day_class_code']},
) }}
