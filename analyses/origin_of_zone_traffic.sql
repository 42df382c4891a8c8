-- Origin: zone entries by where the owner is registered, grouped as own municipality, province, abroad.
select
    origin_profile.zone_code,
    origin_profile.month_start,
    owner_regions.origin_group,
    sum(origin_profile.passages) as passages_at_least,
    sum(origin_profile.confidential_passage_cells) as confidential_cells
from {{ ref('fct_origin_profile') }} as origin_profile
inner join {{ ref('dim_owner_region') }} as owner_regions
    on origin_profile.owner_region_code = owner_regions.owner_region_code
where
    origin_profile.municipality_code = 'GM0344'
    and origin_profile.is_vehicle_category_total
group by origin_profile.zone_code, origin_profile.month_start, owner_regions.origin_group
order by origin_profile.zone_code, origin_profile.month_start, owner_regions.origin_group
