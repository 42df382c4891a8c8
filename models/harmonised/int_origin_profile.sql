{{ harmonise_zone_table('stg_cbs__t05_observations', ['zone_code', 'vehicle_category_code', 'owner_region_code']) }}
