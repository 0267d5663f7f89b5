"""A demo shop to fill an empty store server: Harbour Street Market, Kiel.

A small German neighbourhood grocery and household shop with about 380
products in 13 categories, two tax classes (reduced 7 %, standard 19 %, prices
include tax) and two cashiers. Everything is built from fixed tables and
arithmetic, so :func:`demo_store` returns the same catalogue on every call.

Cashier PINs:

* Alex Morgan: ``1234``
* Sam Patel: ``2468`` (a manager: authorises overrides, e.g. settling a card payment by hand)

Barcodes to try at the till (the first two products):

* ``4004351060832``: Sourdough loaf 750 g, € 3,89
* ``4174424748704``: Rye bread 500 g, € 2,49

Loose produce is sold by weight (price per kilogram, stock in grams) and comes last, with
in-store barcodes (GS1 prefix 21), so the numbering of everything else stays as it was:

* ``2100001000004``: Bananas loose, € 1,69/kg
* ``2100007000008``: Cherry tomatoes (self-fill punnet), € 5,99/kg, net of its 15 g punnet

Tax classes follow German practice: food, coffee, tea, dairy milk, pet food,
period products and newspapers are reduced; drinks (water, juice, soft drinks,
plant drinks, alcohol) and non-food are standard.
"""

from __future__ import annotations

from dataclasses import dataclass

from pos_core.catalogue import gtin_check_digit
from pos_core.weight import SoldBy

__all__ = ["DEMO_BARCODES_FOR_DOCS", "DemoProduct", "DemoStore", "demo_store"]

REDUCED = "reduced"
STANDARD = "standard"

#: The first two products' barcodes, for the README; equal to ``demo_store().products[0:2]``'s.
DEMO_BARCODES_FOR_DOCS: tuple[str, str] = ("4004351060832", "4174424748704")


@dataclass(frozen=True, slots=True)
class DemoProduct:
    """One shelf item. ``price`` is in euro cents, tax included: per piece, or per kilogram for an
    item sold by ``weight``, whose ``on_hand`` is then grams."""

    sku: str
    barcode: str
    name: str
    category: str
    price: int
    tax_class: str
    on_hand: int
    sold_by: SoldBy = "each"
    tare_grams: int = 0
    """The container a weighed item comes to the till in (a punnet); the scale takes it off."""


@dataclass(frozen=True, slots=True)
class DemoStore:
    """Everything needed to seed a demo store."""

    name: str
    currency: str
    prices_include_tax: bool
    address_lines: tuple[str, ...]
    tax_classes: list[tuple[str, str, int]]  # (code, name, rate_ppm)
    categories: list[str]
    products: list[DemoProduct]
    cashiers: list[tuple[str, str]]  # (name, pin)
    managers: tuple[str, ...] = ()
    """Names of the cashiers who are managers: they authorise overrides (DESIGN.md §7)."""


# Each category: (name, default tax class, table). A table line is
# "product name | price in cents" with an optional "| tax class" overriding the default.
_CATALOGUE: tuple[tuple[str, str, str], ...] = (
    (
        "Bakery",
        REDUCED,
        """
        Sourdough loaf 750 g | 389
        Rye bread 500 g | 249
        Wholegrain bread 500 g | 279
        Spelt bread 500 g | 329
        Farmhouse loaf 1 kg | 399
        White toast bread 500 g | 149
        Wholegrain toast bread 500 g | 169
        Bread rolls 6 pcs | 179
        Pretzel rolls 4 pcs | 229
        Butter croissant | 89
        Croissants 4 pcs | 259
        Pain au chocolat | 119
        Baguette 250 g | 129
        Ciabatta 300 g | 199
        Pumpernickel 500 g | 189
        Rye crispbread 250 g | 149
        Rusks 225 g | 129
        Soft pretzel | 79
        Cinnamon roll | 149
        Apple turnover | 139
        Poppy seed cake slice | 189
        Marble cake 400 g | 299
        Crumble cake slice | 179
        Plain bagels 4 pcs 340 g | 219
        Wheat wraps 6 pcs 370 g | 199
        Burger buns 4 pcs 300 g | 179
        Fresh pizza dough 400 g | 169
        """,
    ),
    (
        "Dairy & eggs",
        REDUCED,
        """
        Whole milk 3.5 % 1 l | 119
        Semi-skimmed milk 1.5 % 1 l | 105
        Lactose-free milk 1.5 % 1 l | 139
        Oat milk 1 l | 179 | standard
        Soy drink 1 l | 169 | standard
        Almond drink 1 l | 229 | standard
        Buttermilk 500 ml | 79
        Kefir 500 ml | 119
        Butter 250 g | 239
        Salted butter 250 g | 259
        Spreadable butter 250 g | 249
        Natural yoghurt 3.5 % 500 g | 99
        Greek yoghurt 10 % 500 g | 229
        Strawberry yoghurt 150 g | 49
        Natural skyr 450 g | 179
        Low-fat quark 500 g | 139
        Cream cheese 200 g | 119
        Cottage cheese 200 g | 109
        Whipping cream 30 % 200 ml | 109
        Sour cream 200 g | 79
        Crème fraîche 150 g | 99
        Young Gouda sliced 400 g | 329
        Emmental sliced 200 g | 229
        Mozzarella 125 g | 89
        Feta 200 g | 189
        Grated Parmesan 100 g | 219
        Camembert 125 g | 149
        Free-range eggs 10 pcs | 329
        Organic eggs 6 pcs | 269
        Chocolate pudding 4 x 125 g | 129
        """,
    ),
    (
        "Fruit & vegetables",
        REDUCED,
        """
        Bananas 1 kg | 169
        Elstar apples 1 kg | 249
        Braeburn apples 1 kg | 279
        Conference pears 1 kg | 299
        Oranges 2 kg | 349
        Mandarins 1 kg | 259
        Lemons 500 g | 149
        Limes 4 pcs | 129
        Seedless grapes 500 g | 249
        Strawberries 500 g | 349
        Blueberries 125 g | 199
        Raspberries 125 g | 249
        Kiwi each | 39
        Ready-to-eat avocado each | 99
        Mango each | 149
        Pineapple each | 199
        Cucumber each | 69
        Vine tomatoes 500 g | 229
        Cherry tomatoes 250 g | 149
        Red peppers 500 g | 249
        Carrots 1 kg | 99
        Waxy potatoes 2.5 kg | 299
        Onions 1 kg | 119
        Red onions 500 g | 99
        Garlic 3 bulbs | 129
        Ginger root 150 g | 99
        Iceberg lettuce each | 119
        Lamb's lettuce 150 g | 199
        Baby spinach 200 g | 179
        Broccoli 500 g | 179
        Cauliflower each | 199
        Courgettes 500 g | 149
        White mushrooms 250 g | 149
        Leeks 500 g | 129
        Basil in pot | 179
        Flat-leaf parsley bunch | 99
        """,
    ),
    (
        "Meat, fish & deli",
        REDUCED,
        """
        Chicken breast fillets 400 g | 599
        Chicken drumsticks 1 kg | 549
        Minced beef 500 g | 549
        Mixed mince beef & pork 500 g | 449
        Pork schnitzel 400 g | 499
        Bratwurst 4 pcs 400 g | 399
        Frankfurters 6 pcs 250 g | 249
        Cooked ham sliced 200 g | 229
        Salami sliced 100 g | 169
        Liver sausage 125 g | 129
        Bacon rashers 150 g | 199
        Smoked salmon 100 g | 349
        Kiel smoked sprats 150 g | 349
        Herring in cream sauce 400 g | 279
        Smoked tofu 200 g | 219
        Vegan sausages 180 g | 299
        Classic hummus 200 g | 179
        Potato salad 500 g | 229
        Coleslaw 250 g | 149
        """,
    ),
    (
        "Drinks",
        STANDARD,
        """
        Still mineral water 1.5 l | 49
        Sparkling mineral water 1.5 l | 49
        Medium sparkling water 6 x 1.5 l | 329
        Sparkling mineral water 12 x 0.7 l glass | 649
        Apple juice 1 l | 179
        Orange juice not from concentrate 1 l | 249
        Multivitamin juice 1 l | 199
        Apple spritzer 1.5 l | 129
        Cola 1.5 l | 149
        Cola zero 1.5 l | 149
        Cola can 0.33 l | 79
        Lemonade 1 l | 119
        Orange soda 1.5 l | 139
        Peach iced tea 1.5 l | 129
        Energy drink 250 ml | 129
        Tonic water 1 l | 179
        Ginger ale 1 l | 189
        Elderflower cordial 500 ml | 299
        Mate soda 0.5 l | 129
        Sports drink 750 ml | 179
        Coconut water 330 ml | 199
        Kombucha 330 ml | 249
        Pilsner 0.5 l | 89
        Pilsner crate 20 x 0.5 l | 1699
        Wheat beer 0.5 l | 109
        Alcohol-free pilsner 0.5 l | 89
        Radler 0.5 l | 89
        Craft IPA 0.33 l | 229
        Lager 6 x 0.33 l | 599
        Cider 0.5 l | 169
        Riesling dry 0.75 l | 699
        Pinot Grigio 0.75 l | 599
        Rosé 0.75 l | 549
        Merlot 0.75 l | 649
        Rioja Crianza 0.75 l | 899
        Prosecco 0.75 l | 699
        Sparkling wine dry 0.75 l | 449
        Mulled wine 1 l | 299
        Vodka 0.7 l | 1299
        Dry gin 0.7 l | 2299
        Dark rum 0.7 l | 1799
        Aquavit 0.7 l | 1399
        Herbal liqueur 0.7 l | 1499
        """,
    ),
    (
        "Coffee & tea",
        REDUCED,
        """
        Ground coffee classic 500 g | 599
        Decaf ground coffee 500 g | 649
        Espresso beans 1 kg | 1499
        Crema coffee beans 1 kg | 1399
        Instant coffee 200 g | 699
        Coffee pods 16 pcs | 399
        Coffee capsules 10 pcs | 299
        Iced coffee with milk 330 ml | 149
        Cold brew coffee 250 ml | 199 | standard
        English breakfast tea 20 bags | 179
        Earl Grey tea 20 bags | 199
        Green tea 20 bags | 189
        Peppermint tea 20 bags | 139
        Chamomile tea 20 bags | 139
        Wild berry fruit tea 20 bags | 149
        Rooibos tea 20 bags | 179
        East Frisian loose tea 250 g | 449
        Chai latte powder 250 g | 349
        Matcha powder 30 g | 899
        Hot chocolate powder 500 g | 299
        Cocoa powder 250 g | 249
        Evaporated milk 10 % 340 g | 129
        """,
    ),
    (
        "Pantry",
        REDUCED,
        """
        Spaghetti 500 g | 99
        Penne 500 g | 99
        Wholegrain fusilli 500 g | 129
        Egg noodles 500 g | 169
        Basmati rice 1 kg | 299
        Long grain rice 1 kg | 179
        Risotto rice 1 kg | 279
        Couscous 500 g | 149
        Red lentils 500 g | 199
        Chickpeas 400 g can | 89
        Kidney beans 400 g can | 89
        Chopped tomatoes 400 g can | 69
        Passata 500 g | 99
        Tomato paste 200 g | 89
        Tomato basil pasta sauce 400 g | 199
        Pesto genovese 190 g | 249
        Wheat flour type 405 1 kg | 89
        Spelt flour type 630 1 kg | 179
        Sugar 1 kg | 119
        Brown sugar 500 g | 179
        Sugar cubes 500 g | 129
        Sea salt 500 g | 79
        Ground black pepper 50 g | 149
        Sunflower oil 1 l | 249
        Extra virgin olive oil 750 ml | 799
        Balsamic vinegar 500 ml | 229
        White wine vinegar 750 ml | 129
        Medium hot mustard 200 ml | 79
        Ketchup 500 ml | 199
        Mayonnaise 250 ml | 169
        Soy sauce 150 ml | 199
        Vegetable stock cubes 8 pcs | 99
        Strawberry jam 450 g | 199
        Blossom honey 500 g | 499
        Hazelnut spread 400 g | 299
        Peanut butter 350 g | 249
        Porridge oats 500 g | 79
        Fruit muesli 750 g | 249
        Cornflakes 375 g | 179
        Tuna in oil 185 g | 179
        Sweetcorn 285 g can | 99
        Peach halves 410 g can | 149
        Coconut milk 400 ml | 149
        Gherkins 670 g jar | 179
        Dry yeast 3 x 7 g | 39
        Baking powder 5 x 15 g | 59
        Vanilla sugar 10 x 8 g | 79
        """,
    ),
    (
        "Frozen",
        REDUCED,
        """
        Pizza margherita 350 g | 199
        Pizza salami 380 g | 229
        Stone-baked pizza mozzarella 2 x 350 g | 399
        Fish fingers 15 pcs 450 g | 299
        Salmon fillets 2 x 125 g | 449
        Prawns 250 g | 499
        Peas 750 g | 149
        Leaf spinach 450 g | 119
        Mixed vegetables 750 g | 169
        Italian herb mix 50 g | 129
        Mixed berries 500 g | 349
        Oven chips 1 kg | 199
        Croquettes 750 g | 219
        Vegetable lasagne 400 g | 279
        Vegetable spring rolls 12 pcs | 249
        Veggie burgers 2 pcs 180 g | 299
        Part-baked baguette rolls 10 pcs | 199
        Black Forest gateau 1.1 kg | 599
        Vanilla ice cream 1 l | 279
        Chocolate ice cream 1 l | 279
        Ice cream cones 4 pcs | 299
        Ice lollies 6 pcs | 229
        """,
    ),
    (
        "Snacks & sweets",
        REDUCED,
        """
        Salted crisps 175 g | 149
        Paprika crisps 175 g | 149
        Tortilla chips 200 g | 129
        Salted peanuts 200 g | 149
        Mixed nuts 200 g | 299
        Trail mix 200 g | 249
        Dried apricots 200 g | 249
        Pretzel sticks 250 g | 99
        Cheese crackers 125 g | 139
        Rice cakes 100 g | 99
        Sweet popcorn 100 g | 119
        Salted caramel popcorn 90 g | 169
        Milk chocolate 100 g | 129
        Dark chocolate 70 % 100 g | 169
        Whole hazelnut chocolate 100 g | 149
        Chocolate bar 51 g | 79
        Marzipan bar 100 g | 179
        Chocolate pralines 200 g | 499
        Gummy bears 200 g | 119
        Liquorice 200 g | 129
        Butter biscuits 200 g | 129
        Chocolate chip cookies 200 g | 179
        Cereal bars 6 pcs | 199
        Chewing gum 10 pcs | 99
        Peppermints 50 g | 149
        """,
    ),
    (
        "Household",
        STANDARD,
        """
        Toilet paper 3-ply 8 rolls | 349
        Kitchen roll 4 rolls | 299
        Paper tissues 10 packs | 129
        Washing-up liquid 500 ml | 119
        Dishwasher tablets 40 pcs | 599
        Liquid laundry detergent 1.5 l | 599
        Laundry powder 20 loads | 449
        Fabric softener 1 l | 199
        All-purpose cleaner 1 l | 149
        Glass cleaner 500 ml | 179
        Bathroom cleaner 750 ml | 199
        Toilet cleaner gel 750 ml | 149
        Descaler 500 ml | 229
        Sponges 10 pcs | 119
        Microfibre cloths 5 pcs | 299
        Washing-up gloves size M | 179
        Bin bags 35 l 20 pcs | 189
        Freezer bags 3 l 25 pcs | 129
        Aluminium foil 30 m | 249
        Cling film 30 m | 179
        Baking paper 8 m | 149
        Batteries AA 4 pcs | 399
        Batteries AAA 4 pcs | 399
        LED bulb E27 806 lm | 349
        Tea lights 50 pcs | 299
        Dinner candles white 4 pcs | 249
        Matches 10 boxes | 129
        Lighter | 99
        Clothes pegs 24 pcs | 199
        Cat food chicken 100 g | 59 | reduced
        Dog food beef 400 g can | 129 | reduced
        Cat litter 10 l | 399
        """,
    ),
    (
        "Personal care",
        STANDARD,
        """
        Shampoo 300 ml | 199
        Conditioner 300 ml | 199
        Shower gel 250 ml | 129
        Bar soap 100 g | 89
        Liquid hand soap 300 ml | 119
        Toothpaste 75 ml | 149
        Toothbrush medium | 129
        Dental floss 50 m | 179
        Mouthwash 500 ml | 249
        Roll-on deodorant 50 ml | 179
        Deodorant spray 150 ml | 219
        Razor blades 4 pcs | 799
        Shaving foam 200 ml | 199
        Body lotion 400 ml | 349
        Hand cream 75 ml | 199
        Lip balm | 149
        Sun cream SPF 30 200 ml | 599
        Hairspray 250 ml | 249
        Cotton pads 120 pcs | 99
        Cotton buds 200 pcs | 89
        Cleansing face wipes 25 pcs | 199
        Sanitary pads 16 pcs | 199 | reduced
        Tampons normal 32 pcs | 229 | reduced
        Baby wipes 64 pcs | 149
        Nappies size 4 44 pcs | 1099
        Assorted plasters 20 pcs | 229
        """,
    ),
    (
        "Stationery",
        STANDARD,
        """
        Ballpoint pens blue 4 pcs | 199
        Gel pen black | 149
        Pencils HB 5 pcs | 179
        Eraser | 69
        Pencil sharpener | 99
        Highlighters 4 colours | 349
        Permanent marker black | 179
        Colouring pencils 12 pcs | 399
        Exercise book A4 ruled | 89
        Exercise book A5 squared | 59
        Spiral notebook A5 | 249
        Printer paper A4 500 sheets | 599
        Envelopes DL 25 pcs | 149
        Sticky notes 76 x 76 mm | 199
        Glue stick 21 g | 149
        Sticky tape 19 mm x 33 m | 129
        Scissors 21 cm | 299
        Ring binder A4 | 249
        Punched pockets A4 10 pcs | 149
        Birthday card | 249
        Gift wrap 2 m | 199
        Postcard Kiel harbour | 99
        Wall calendar | 599
        Local daily newspaper | 270 | reduced
        Puzzle magazine | 199 | reduced
        """,
    ),
    (
        "Kitchenware",
        STANDARD,
        """
        Tea towels 2 pcs | 399
        Oven gloves | 599
        Wooden spoon | 199
        Silicone spatula | 349
        Whisk | 299
        Vegetable peeler | 299
        Box grater | 599
        Can opener | 499
        Corkscrew | 399
        Paring knife | 499
        Chef's knife 20 cm | 1299
        Bamboo chopping board | 899
        Measuring jug 1 l | 349
        Mixing bowl 3 l | 599
        Colander | 499
        Frying pan 28 cm | 2499
        Saucepan 20 cm | 1999
        Food storage boxes 3 pcs | 699
        Lunch box | 499
        Water bottle 750 ml | 999
        Vacuum flask 0.5 l | 1499
        Drinking glasses 6 pcs | 799
        Coffee mug | 399
        Ice cube trays 2 pcs | 249
        Paper napkins 50 pcs | 149
        Paper plates 10 pcs | 179
        Barbecue charcoal 3 kg | 599
        """,
    ),
)

# Sold by weight: "name | price per kg in cents | grams on hand", in the "Fruit & vegetables" category,
# with an optional "| tare in grams": the self-fill punnet the customer brings to the till, taken off by the scale.
_LOOSE_PRODUCE = """
    Bananas loose | 169 | 18000
    Elstar apples loose | 249 | 25000
    Braeburn apples loose | 279 | 20000
    Vine tomatoes loose | 399 | 12000
    Carrots loose | 129 | 15000
    Red onions loose | 199 | 8000
    Cherry tomatoes (self-fill punnet) | 599 | 6000 | 15
    Cherries (self-fill punnet) | 899 | 5000 | 18
"""
_PRODUCE_CATEGORY = "Fruit & vegetables"

_TAX_CLASSES: tuple[tuple[str, str, int], ...] = (
    (REDUCED, "Reduced rate 7%", 70_000),
    (STANDARD, "Standard rate 19%", 190_000),
)

_CASHIERS: tuple[tuple[str, str], ...] = (
    ("Alex Morgan", "1234"),
    ("Sam Patel", "2468"),
)
_MANAGERS = ("Sam Patel",)


def _barcode(index: int) -> str:
    """A made-up EAN-13 with a GS1 Germany prefix (400-440) and a correct check digit.

    The nine digits after the prefix are an offset ``index`` times a multiplier coprime
    to 10**9, so distinct indices below 10**9 never collide whatever prefix they get.
    """
    prefix = 400 + (index * 17) % 41
    rest = ((index + 1_009) * 7_368_787) % 1_000_000_000
    body = f"{prefix}{rest:09d}"
    return body + str(gtin_check_digit(body))


def _instore_barcode(number: int) -> str:
    """An EAN-13 in GS1's restricted-circulation range (prefix 21): valid in this shop only."""
    body = f"21{number:05d}00000"
    return body + str(gtin_check_digit(body))


def _on_hand(index: int) -> int:
    """Stock between 0 and 120: mostly healthy, a few sold out and a few nearly so."""
    if index % 53 == 11:
        return 0
    if index % 41 == 19:
        return 1 + index % 3
    return 4 + (index * 37 + 13) % 117


def _parse_line(line: str, default_tax: str) -> tuple[str, int, str]:
    fields = [field.strip() for field in line.split("|")]
    name, price = fields[0], int(fields[1])
    tax_class = fields[2] if len(fields) > 2 else default_tax
    return name, price, tax_class


def demo_store() -> DemoStore:
    """Harbour Street Market: the same shop, products, stock and cashiers on every call."""
    products: list[DemoProduct] = []
    for category, default_tax, table in _CATALOGUE:
        for line in table.strip().splitlines():
            name, price, tax_class = _parse_line(line, default_tax)
            index = len(products)
            products.append(
                DemoProduct(
                    sku=f"SKU-{index + 1:05d}",
                    barcode=_barcode(index),
                    name=name,
                    category=category,
                    price=price,
                    tax_class=tax_class,
                    on_hand=_on_hand(index),
                )
            )
    for number, line in enumerate(_LOOSE_PRODUCE.strip().splitlines(), start=1):
        produce, per_kg, grams, *tare = (field.strip() for field in line.split("|"))
        products.append(
            DemoProduct(
                sku=f"SKU-{len(products) + 1:05d}",
                barcode=_instore_barcode(number),
                name=produce,
                category=_PRODUCE_CATEGORY,
                price=int(per_kg),
                tax_class=REDUCED,
                on_hand=int(grams),
                sold_by="weight",
                tare_grams=int(tare[0]) if tare else 0,
            )
        )
    return DemoStore(
        name="Harbour Street Market",
        currency="EUR",
        prices_include_tax=True,
        address_lines=("12 Harbour Street", "24103 Kiel"),
        tax_classes=list(_TAX_CLASSES),
        categories=[category for category, _, _ in _CATALOGUE],
        products=products,
        cashiers=list(_CASHIERS),
        managers=_MANAGERS,
    )
