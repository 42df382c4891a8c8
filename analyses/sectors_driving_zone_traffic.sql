-- Sectors: zone entries per SBI section of the owner (all categories and owner types).
select
    sector_profile.zone_code,
    sector_profile.month_start,
    sbi_sections.title_nl as sbi_section,
    sector_profile.passages,
    sector_profile.passages_status
from {{ ref('fct_sector_profile') }} as sector_profile
inner join {{ ref('dim_sbi_section') }} as sbi_sections
    on sector_profile.sbi_section_code = sbi_sections.sbi_section_code
where
    sector_profile.municipality_code = 'GM0344'
    and sector_profile.is_vehicle_category_total
    and sector_profile.is_owner_type_total
order by sector_profile.zone_code asc, sector_profile.month_start asc, sector_profile.passages desc nulls last
