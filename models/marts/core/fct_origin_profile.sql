{{ zone_fact('stg_cbs__t05_observations', 'origin_profile_id', ['vehicle_category_code', 'owner_region_code'], views={
    'by_owner_region': ['owner_region_code'],
}) }}
