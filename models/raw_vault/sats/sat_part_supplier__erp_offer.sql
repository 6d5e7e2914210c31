-- A supplier's offer of a part: quantity available and supply cost (on
-- link_part_supplier).
with part_suppliers as (

    select * from {{ ref('stg_erp__part_suppliers') }}

),

part_suppliers_keyed as (

    select
        {{ vault_hash(['part_id', 'supplier_id']) }} as part_supplier_hk,
        available_quantity,
        supply_cost,
        part_supplier_comment,
        loaded_at as load_at,
        'erp.partsupp' as record_source
    from part_suppliers

),

{{ vault_sat(
    'part_suppliers_keyed',
    'part_supplier_hk',
    'part_supplier_hashdiff',
    [
        'available_quantity',
        'supply_cost',
        'part_supplier_comment',
    ],
) }}

select * from final
