{{ harmonise_zone_table('stg_cbs__t06_observations', ['zone_code', 'vehicle_category_code', 'visit_day_class_code']) }}
