/* The embedded corpus generator (see corpus.h).
 *
 * A story is an opening line plus one plot. Plots are paragraphs of sentence templates
 * in a tiny grammar:
 *   [a|b|c]   one alternative, picked uniformly (alternatives nest)
 *   {name}    a slot: the story's cast and props (fixed for the whole story, so names
 *             recur and a model can learn to copy them) or a word list drawn afresh at
 *             each use; {Name} capitalises the first letter of what it gives.
 * Slot values are expanded in turn, so list entries may hold slots and choices. A typo
 * in a template shows up in the output as a stray '{', '[' or '|', which test_data
 * looks for. */
#include "data/corpus.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

#define CORPUS_SEED 0x53544f524945ULL   /* "STORIE" */
#define CORPUS_TARGET_BYTES 1500000     /* stop after the story that reaches this */

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

/* ---- word lists ---------------------------------------------------------------- */

static const char *const girl_names[] = {
    "Lily", "Mia", "Sue", "Anna", "Lucy", "Emma", "Zoe", "Ruby", "Amy", "Sara", "Ella",
    "Kim", "Jane", "Rose", "Molly", "Nina", "Lola", "Ivy", "Grace", "Hannah", "Chloe", "Maya",
};
static const char *const boy_names[] = {
    "Tom", "Ben", "Max", "Tim", "Sam", "Jack", "Leo", "Jake", "Bob", "Joe", "Finn",
    "Noah", "Alex", "Dan", "Ollie", "Pete", "Ted", "Luke", "Ryan", "Hugo", "Eli", "Oscar",
};
static const char *const pet_names[] = {
    "Spot", "Fluffy", "Buddy", "Coco", "Pip", "Sunny", "Whiskers", "Patch", "Biscuit",
    "Pepper", "Rusty", "Bella", "Lucky", "Snowy", "Bubbles", "Ziggy",
};
/* Animals a character can be: no vowel first, so "a {kind}" reads right. */
static const char *const animal_kinds[] = {
    "dog", "cat", "bunny", "bear", "bird", "duck", "mouse", "frog", "fox", "puppy",
    "kitten", "lamb", "pig", "squirrel", "turtle", "hedgehog",
};
static const char *const hero_adjs[] = {
    "happy", "kind", "curious", "brave", "friendly", "playful", "silly", "sweet",
    "cheerful", "clever", "gentle", "busy",
};
static const char *const parents[] = { "mom", "dad", "grandma", "grandpa", "mommy", "daddy" };
static const char *const objects[] = {
    "ball", "kite", "teddy bear", "toy car", "doll", "boat", "drum", "hat", "truck",
    "train", "robot", "book", "scarf", "blanket", "balloon", "bike", "yo-yo", "whistle",
    "crayon box", "jump rope",
};
static const char *const obj_adjs[] = {
    "red", "blue", "green", "yellow", "pink", "purple", "shiny", "big", "little", "soft",
    "new", "small", "bright", "special", "striped", "spotty",
};
static const char *const places[] = {
    "park", "forest", "garden", "beach", "farm", "playground", "meadow", "hill", "river",
    "lake", "woods", "field", "zoo", "pond",
};
/* Creatures met on the way: always after "little" or "the". */
static const char *const creatures[] = {
    "bird", "squirrel", "rabbit", "turtle", "frog", "duck", "puppy", "kitten", "deer",
    "owl", "hedgehog", "butterfly", "mouse", "fox", "ladybug", "snail", "chick", "goat",
};
static const char *const foods[] = {
    "cake", "pie", "cherry pie", "pizza", "chocolate cake", "lemon cake", "carrot cake",
    "loaf of bread", "pumpkin pie", "berry tart", "banana bread", "honey cake",
};
static const char *const fears[] = {
    "the dark", "the big dog next door", "the loud thunder", "the deep water",
    "the tall slide", "the big waves", "the old tree outside", "the noisy vacuum",
};
static const char *const wishes[] = {
    "fly like a bird", "climb the tallest tree", "swim across the lake",
    "ride a big red bike", "jump over the fence", "whistle a song", "catch a star",
    "run as fast as the wind", "build the biggest tower",
};
static const char *const fragile[] = { "vase", "lamp", "big cup", "plate", "jar", "clock" };
static const char *const treasures[] = {
    "a shiny key", "an old map", "lots of colorful stones", "a little note", "a golden coin",
    "a tiny music box", "some pretty shells",
};

static const char *const w_time[] = {
    "one day", "one sunny day", "one morning", "one afternoon", "one bright morning",
    "one warm day", "one summer day", "one windy day", "one day after lunch",
};
static const char *const w_happy[] = { "happy", "glad", "excited", "cheerful", "joyful" };
static const char *const w_sad[] = { "sad", "upset", "worried", "unhappy", "gloomy" };
static const char *const w_smiled[] = { "smiled", "laughed", "giggled", "grinned" };
static const char *const w_spot[] = {
    "behind a big tree", "under a bush", "in the tall grass", "near a big rock",
    "under a pile of leaves", "next to a bench", "by the water", "inside an old box",
    "under the slide", "behind some flowers",
};
static const char *const w_game[] = { "tag", "catch", "hide and seek", "ball", "pretend" };
static const char *const w_color[] = { "red", "blue", "yellow", "pink", "purple", "white" };
static const char *const w_very[] = { "very", "so", "really" };
static const char *const w_hobby[] = {
    "sing songs", "draw pictures", "play in the mud", "read books", "dance", "climb trees",
    "look at the clouds", "run fast", "pick flowers", "splash in puddles", "build with blocks",
};

struct word_list {
    const char *name;
    const char *const *words;
    int n;
};

/* Slots drawn afresh at every use. */
static const struct word_list fresh_lists[] = {
    { "time", w_time, N(w_time) },       { "happy", w_happy, N(w_happy) },
    { "sad", w_sad, N(w_sad) },          { "smiled", w_smiled, N(w_smiled) },
    { "spot", w_spot, N(w_spot) },       { "game", w_game, N(w_game) },
    { "color", w_color, N(w_color) },    { "very", w_very, N(w_very) },
    { "hobby", w_hobby, N(w_hobby) },
};

/* ---- story templates ------------------------------------------------------------ */

/* The opening: who the story is about. */
static const char *const openings[] = {
    "Once upon a time, there was a {heroadj} {kind} named {X}.",
    "Once upon a time, there was a little {kind}. {His} name was {X}.",
    "There was once a {heroadj} {kind} called {X}.",
    "{X} was a {heroadj} little {kind} who lived [in a small house|near a big forest|in a "
    "busy town|on a farm|by the sea] with {his} {parent}.",
    "Once upon a time, in a [small town|big forest|quiet village|green valley|sunny land], "
    "there lived a {kind} named {X}.",
    "Once there was a {kind} named {X}. {He} was {very} {heroadj}.",
    "Once upon a time, there was a {heroadj} {kind} named {X}. {He} loved to {hobby}.",
    "There was a little {kind} named {X} who loved to {hobby}.",
};

static const char *const endings[] = {
    "", "", "", "",
    "And they all lived happily ever after.",
    "It was a [good|great|happy|wonderful] day.",
    "{X} [went to bed|fell asleep] with a big smile on {his} face.",
};

/* One plot: NULL-terminated paragraphs; each paragraph is sentences separated by '\v'
 * (outside any choice) so that an empty alternative leaves no double space. */
typedef const char *const plot_t[8];

static plot_t plots[] = {
    { /* the lost toy */
      "{X} had a {objadj} {obj}.\v{He} loved {his} {obj} [very much|more than anything|so "
      "much].\v[{He} took it everywhere.|{He} played with it every day.|]",
      "{Time}, {X} went to the {place} with {his} {obj}.\v{He} [played and played|ran and "
      "jumped|had lots of fun] [all afternoon|in the warm sun|with the other kids].\vBut "
      "when it was time to go home, {he} could not find {his} {obj}!",
      "{X} felt {sad}.\v[{He} started to cry.|{His} eyes filled with tears.|{He} looked "
      "everywhere, but the {obj} was gone.]",
      "Then {X} saw {his} friend {Y}.\v\"[Why are you sad|What is wrong], {X}?\" asked "
      "{Y}.\v\"I lost my {obj},\" said {X}. \"Can you help me find it?\"\v\"Yes, I will "
      "help you!\" said {Y}.",
      "They looked {spot}.\vThey looked {spot}.\v[At last|Then|Finally], {Y} found the "
      "{obj} {spot}!\v\"Here it is!\" {fhe} said.",
      "{X} was so {happy}.\v\"Thank you, {Y}! You are a good friend,\" {he} said.\v[They "
      "played with the {obj} together until the sun went down.|{He} gave {Y} a big hug.|"
      "From that day on, {X} always kept {his} {obj} close.]",
      NULL },
    { /* learning to share */
      "{Time}, {X} and {Y} were playing at the {place}.\vThey found a {objadj} {obj} [on "
      "the ground|under a tree|in the grass|next to a bench].",
      "\"It is mine!\" said {X}.\v\"No, I saw it first!\" said {Y}.\vThey both pulled the "
      "{obj}.\v[They pulled and pulled.|Neither of them wanted to let go.|]",
      "[Then {X} fell down and began to cry.|They were both {sad} and angry.|Soon they "
      "were both shouting.]",
      "{X}'s {parent} came over.\v\"What is wrong?\" [asked {Parent}|{Parent} asked].\v"
      "\"You should share,\" said {Parent}. \"If you take turns, you can both have fun.\"",
      "{X} and {Y} [looked at each other|thought about it].\v\"[Okay|You are right], "
      "let's take turns,\" said {X}.\v{He} let {Y} play with the {obj} first.",
      "They took turns all day.\vSharing was more fun than fighting.\v[{X} learned that "
      "sharing makes everyone happy.|After that, they were the best of friends.|]",
      NULL },
    { /* a fear overcome */
      "{X} was scared of {fear}.\v[Every time {he} thought about it|Every night], {he} [hid "
      "under {his} blanket|ran to {his} {parent}|felt {his} heart beat fast].",
      "{Time}, {his} {parent} said, \"[Do not be scared|You are very brave], {X}. [I will be "
      "right here with you.|Let's be brave together.]\"",
      "{X} took a deep breath.\v{He} held {his} {parent}'s hand.\v[Slowly|Step by step], {he} "
      "went closer to {fear}.",
      "It was not so scary after all!\v{X} {smiled}.\v\"I am not scared anymore!\" {he} "
      "said.",
      "[{Parent} gave {him} a big hug.|{Parent} was {very} proud of {him}.]\vFrom that day "
      "on, {X} was never scared of {fear} again.",
      NULL },
    { /* a creature that needs help */
      "{Time}, {X} went for a walk in the {place}.\vThe sun was [warm|bright] and the birds "
      "were singing.",
      "{He} saw a little {animal} [sitting on a rock|hiding behind a tree|by the water|in "
      "the grass].\vThe {animal} looked {sad}.",
      "\"Hello, little {animal},\" said {X}. \"Why are you {sad}?\"",
      "[\"I am lost and I cannot find my home,\" said the {animal}.\v\"I will help you,\" "
      "said {X}.\vThey walked together until they found the {animal}'s home.|\"I am "
      "hungry,\" said the {animal}.\v{X} gave the {animal} some of {his} {food}.\vThe "
      "{animal} ate it all up.|\"I hurt my leg,\" said the {animal}.\v{X} gently helped "
      "the {animal} and stayed with it until it felt better.]",
      "The {animal} was {very} {happy}.\v\"Thank you, {X}!\" it said. \"You are [very "
      "kind|a good friend].\"",
      "{X} waved goodbye and went home.\v{He} told {his} {parent} all about {his} new "
      "friend, the {animal}.",
      NULL },
    { /* baking together */
      "{Time}, {X} and {his} {parent} [wanted to|decided to] make a {food} for [a party|"
      "{Y}'s birthday|the whole family].",
      "They got [flour, eggs and milk|sugar, butter and flour].\v{X} [helped mix|stirred] "
      "everything in a big bowl.\vIt was [messy|sticky] but fun!",
      "Then they put the {food} in the oven.\vThe kitchen smelled so good.\v[{X} could not "
      "wait!|{X} was {very} {happy}.]",
      "[Oh no! {X} dropped the spoon and some of the mix fell on the floor.\v\"It is "
      "okay,\" said {Parent}. \"We can clean it up together.\"|]",
      "When the {food} was ready, they [shared it with {Y}|ate it together at the table]."
      "\v\"This is the best {food} ever!\" said {X}.\vEveryone {smiled}.",
      NULL },
    { /* a wish and hard work */
      "{X} [wanted to|wished {he} could|dreamed that one day {he} would] {wish}.",
      "[Every day|Every morning], {he} [tried and tried|practiced], but it was [too hard|"
      "not easy].\v[{He} fell down many times.|Sometimes {he} wanted to give up.]",
      "{His} friend {Y} [saw {him}|came by].\v\"Do not give up, {X}!\" said {Y}. \"[I will "
      "help you.|You can do it if you keep trying.]\"",
      "So {X} tried again.\vAnd again.\v[And one day|Then, one sunny day], {he} did it!\v"
      "{He} could {wish}!",
      "{X} was so proud.\v\"Thank you for helping me, {Y},\" {he} said.\v[{He} learned that "
      "trying hard is important.|They laughed and played all day.]",
      NULL },
    { /* a rainy day */
      "{Time}, {X} wanted to go to the {place} [to play with {his} {obj}|to see {Y}].\v"
      "But when {he} looked outside, it was [raining|very windy|storming].",
      "{X} felt {sad}.\v\"Now I cannot go outside,\" {he} said.",
      "{His} {parent} had an idea.\v\"Let's [build a fort|play a game|read a book|draw "
      "pictures] inside!\"",
      "They [used blankets and pillows|sat on the floor|took out paper and crayons] and had "
      "so much fun.\v[They laughed and laughed.|]",
      "[Soon|After a while], the rain stopped and the sun came out.\v[There was a big "
      "rainbow in the sky!|]\v{X} {smiled}. \"Today was a good day after all,\" {he} said.",
      NULL },
    { /* a shy hero makes a friend */
      "{X} was a little shy.\v{He} did not have many friends.",
      "{Time}, {he} went to the {place} and saw a {fkind} named {Y} playing [with a ball|"
      "alone|in the sand].",
      "{X} wanted to say hello, but {he} was [scared|too shy].\v[{He} stood behind a tree "
      "and watched.|{He} looked down at {his} feet.]",
      "Then {Y} [looked up and smiled|walked over to {X}].\v\"Hi! Do you want to play with "
      "me?\" asked {Y}.",
      "{X} [smiled|nodded].\v\"Yes, please!\" {he} said.\vThey played {game} [all day|until "
      "it was time to go home].",
      "[From that day on|After that], {X} and {Y} were best friends.\v{X} was not shy "
      "anymore.",
      NULL },
    { /* telling the truth */
      "{X} was playing with {his} {obj} in the house.\v{His} {parent} said, \"[Please do "
      "not play with that inside.|Be careful, {X}.]\"",
      "But {X} did not listen.\v{He} threw the {obj} [very hard|high in the air] and it hit "
      "a {fragile}.\v[Crash!|Bang!] The {fragile} broke into many pieces.",
      "{X} was [scared|worried].\v{He} [thought about hiding|wanted to run away].\vBut then "
      "{he} went to {his} {parent} and said, \"I am sorry. I broke the {fragile}.\"",
      "{Parent} [gave {him} a hug|looked at {him} and smiled].\v\"Thank you for telling me "
      "the truth, {X},\" {phe} said.",
      "They cleaned up together.\v{X} learned that it is always good to tell the truth.",
      NULL },
    { /* a seed grows */
      "{Time}, {X} found a [tiny|little] seed.\v\"What will this seed become?\" {he} "
      "wondered.",
      "{He} planted the seed in the garden behind {his} house.\vEvery day, {he} gave it "
      "water [and sang to it|and waited].",
      "At first, nothing happened.\v{X} was {sad}.\vBut {his} {parent} said, \"Be patient. "
      "Good things take time.\"",
      "[One morning|After many days], {X} saw a little green [plant|sprout].\vIt grew and "
      "grew.\vSoon it was a [big {color} flower|tall sunflower|tree with red apples].",
      "{X} was so {happy}.\v{He} [showed it to {Y}|showed it to {his} {parent}].\v[Being "
      "patient was worth it.|]",
      NULL },
    { /* a box of treasure */
      "{X} and {Y} liked to explore.\v{Time}, they went to the {place} and found a [big|"
      "old|small] box [under a tree|behind some rocks|in the sand].",
      "\"What is inside?\" asked {Y}.\vThey opened the box [slowly|together].\vInside, "
      "there was {treasure}!",
      "[\"Let's share it,\" said {X}.\v{Y} nodded and {smiled}.|\"Wow!\" said {X}. \"This "
      "is the best day ever!\"|They looked at it for a long time.]",
      "They went home and told {X}'s {parent} all about their adventure.\v{Parent} "
      "{smiled} and said, \"What a [lucky|wonderful] day!\"",
      NULL },
    { /* helping at home */
      "{X}'s {parent} was {very} tired [after a long day|from working all day].\v{X} "
      "wanted to help.",
      "{He} [cleaned {his} room|set the table|washed the cups|picked up {his} toys] [all by "
      "{self}|without being asked].",
      "When {his} {parent} saw it, {phe} was so surprised.\v\"[Thank you|What a good helper "
      "you are], {X}!\" said {Parent}.",
      "{X} felt warm and {happy} inside.\vHelping others made {him} feel good.",
      NULL },
    { /* a sandcastle */
      "{Time}, {X} and {Y} went to the beach with {X}'s {parent}.\vThey built a big "
      "sandcastle [with tall towers|with a little moat|with shells on top].",
      "Then a big wave came and washed the castle away!\v{X} was {sad}.",
      "\"Do not be sad,\" said {Y}. \"We can build a new one, even bigger!\"",
      "So they built a new castle, [far from the water|higher up on the sand].\vThis time, "
      "the waves could not reach it.",
      "{X} and {Y} {smiled}.\vIt was the best castle on the whole beach.",
      NULL },
    { /* a snowman */
      "It was a cold winter day.\vSnow was everywhere.\v{X} put on {his} [warm coat|red "
      "hat|mittens] and ran outside.",
      "{X} and {Y} rolled a big ball of snow.\vThen they made a smaller one for the head."
      "\vThey gave the snowman a carrot nose and two stones for eyes.",
      "\"Let's call him [Mr. Snow|Frosty|Chilly]!\" said {X}.\v{Y} [laughed|clapped].",
      "The next day, the sun came out and the snowman began to melt.\v{X} was {sad}.",
      "\"He will come back next winter,\" said {X}'s {parent}.\v{X} {smiled} and waited "
      "for the snow.",
      NULL },
    { /* a birthday party */
      "Tomorrow was {X}'s birthday.\v{He} was so excited that {he} could not sleep.",
      "In the morning, {his} {parent} made a big {food} with [candles|{color} frosting|"
      "sprinkles] on top.\v{His} friends came to the party, and {Y} came too.",
      "{Y} gave {X} a box with a {color} bow.\v{X} opened it. Inside was a {objadj} "
      "{obj}!\v\"[Thank you|I love it], {Y}!\" said {X}.",
      "They sang a song and {X} blew out the candles.\v[Everyone clapped.|{X} made a "
      "wish.]\vThen they ate the {food} and played {game}.",
      "It was the best birthday ever.\vThat night, {X} went to sleep with {his} new {obj} "
      "next to {him}.",
      NULL },
    { /* a race */
      "{X} and {Y} wanted to have a race.\v\"Let's run to the big tree [by the {place}|at "
      "the end of the field]!\" said {Y}.",
      "\"Ready, set, go!\" They ran as fast as they could.\v{Y} was faster, and {X} fell "
      "behind.",
      "Then {Y} tripped on a rock and fell down.\v[\"Ouch!\" {fhe} cried.|{Y} held {fhis} "
      "knee.]",
      "{X} stopped running.\v{He} went back and helped {Y} get up.\v\"Are you okay?\" "
      "{he} asked.",
      "\"Yes, thank you,\" said {Y}. \"You are a good friend.\"\vThey walked to the tree "
      "together, hand in hand.\v[Being kind was better than winning.|Nobody won, but they "
      "were both {happy}.]",
      NULL },
    { /* lost in a shop */
      "{Time}, {X} went to the [big store|market|toy shop] with {his} {parent}.\v{Parent} "
      "said, \"Stay close to me, {X}.\"",
      "But {X} saw a {objadj} {obj} and walked over to look at it.\vWhen {he} turned "
      "around, {his} {parent} was gone!",
      "{X} felt {sad} and scared.\v[{He} wanted to cry.|{His} lip began to shake.]\vThen "
      "{he} remembered what to do.",
      "{He} went to a [kind lady|man at the counter|helper in a {color} shirt] and said, "
      "\"I cannot find my {parent}.\"",
      "Soon {his} {parent} came running.\v\"There you are!\" said {Parent}, and gave "
      "{him} a big hug.\v{X} held {Parent}'s hand all the way home.",
      NULL },
};

/* ---- the expander --------------------------------------------------------------- */

struct text {
    char *p;
    size_t len, cap;
    int oom;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (t->oom) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1 << 16;
        while (t->len + n + 1 > cap) cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

#define MAX_SLOTS 24

struct story {
    struct ant_rng *rng;
    struct text *out;
    const char *key[MAX_SLOTS];
    const char *val[MAX_SLOTS];
    int n;
};

static const char *pick(struct ant_rng *r, const char *const *words, int n)
{
    return words[rng_below(r, (uint64_t)n)];
}

static void bind(struct story *st, const char *key, const char *val)
{
    if (st->n == MAX_SLOTS) return;   /* an unbound slot shows up in test_data */
    st->key[st->n] = key;
    st->val[st->n] = val;
    st->n++;
}

static const char *lookup(struct story *st, const char *name, size_t n)
{
    for (int i = 0; i < st->n; i++)
        if (strlen(st->key[i]) == n && !memcmp(st->key[i], name, n)) return st->val[i];
    for (int i = 0; i < N(fresh_lists); i++)
        if (strlen(fresh_lists[i].name) == n && !memcmp(fresh_lists[i].name, name, n))
            return pick(st->rng, fresh_lists[i].words, fresh_lists[i].n);
    return NULL;
}

/* End of the group starting at s (just past '[' or '{'), or NULL if unclosed. With
 * bars, records the position of each top-level '|' (up to max). */
static const char *group_end(const char *s, const char *end, char close, const char **bars,
                             int *n_bars, int max)
{
    int depth = 0;
    for (; s < end; s++) {
        if (*s == '[') depth++;
        else if (*s == ']' && depth > 0) depth--;
        else if (*s == close && depth == 0) return s;
        else if (*s == '|' && depth == 0 && bars && *n_bars < max) bars[(*n_bars)++] = s;
    }
    return NULL;
}

static void expand(struct story *st, const char *s, const char *end, int depth)
{
    while (s < end) {
        const char *lit = s;
        while (s < end && *s != '[' && *s != '{' && *s != '\v') s++;
        put(st->out, lit, (size_t)(s - lit));
        if (s == end) break;
        if (*s == '\v') {   /* a sentence break inside a choice */
            put(st->out, " ", 1);
            s++;
            continue;
        }
        if (depth > 8) { put(st->out, s, 1); s++; continue; }   /* runaway: leave a mark */
        if (*s == '[') {
            const char *bars[16];
            int nb = 0;
            const char *close = group_end(s + 1, end, ']', bars, &nb, 16);
            if (!close) { put(st->out, s, 1); s++; continue; }
            int k = (int)rng_below(st->rng, (uint64_t)nb + 1);
            const char *a = k == 0 ? s + 1 : bars[k - 1] + 1;
            const char *b = k == nb ? close : bars[k];
            expand(st, a, b, depth + 1);
            s = close + 1;
        } else {
            const char *close = group_end(s + 1, end, '}', NULL, NULL, 0);
            if (!close) { put(st->out, s, 1); s++; continue; }
            const char *name = s + 1;
            size_t n = (size_t)(close - name);
            const char *val = lookup(st, name, n);
            int cap = 0;
            if (!val && n > 0 && name[0] >= 'A' && name[0] <= 'Z') {
                char lower[32];
                if (n < sizeof lower) {
                    memcpy(lower, name, n);
                    lower[0] = (char)(lower[0] - 'A' + 'a');
                    val = lookup(st, lower, n);
                    cap = 1;
                }
            }
            if (!val) {
                put(st->out, s, (size_t)(close + 1 - s));   /* unknown slot stays visible */
            } else {
                size_t at = st->out->len;
                expand(st, val, val + strlen(val), depth + 1);
                if (cap && !st->out->oom && at < st->out->len) {
                    char *c = &st->out->p[at];
                    if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 'a' + 'A');
                }
            }
            s = close + 1;
        }
    }
}

/* The '\v' that ends the sentence at s (outside any choice), or the NUL. */
static const char *sentence_end(const char *s)
{
    int depth = 0;
    for (; *s; s++) {
        if (*s == '[') depth++;
        else if (*s == ']' && depth > 0) depth--;
        else if (*s == '\v' && depth == 0) break;
    }
    return s;
}

/* A character: a name, what it is, and its pronouns. */
struct who {
    const char *name, *kind, *he, *him, *his, *self;
};

static void cast(struct ant_rng *r, struct who *w)
{
    int girl = (int)rng_below(r, 2);
    int animal = rng_below(r, 3) == 0;   /* a third of the cast are animals */
    if (animal) {
        w->kind = pick(r, animal_kinds, N(animal_kinds));
        w->name = rng_below(r, 2) ? pick(r, pet_names, N(pet_names))
                  : girl         ? pick(r, girl_names, N(girl_names))
                                 : pick(r, boy_names, N(boy_names));
    } else {
        w->kind = girl ? "girl" : "boy";
        w->name = girl ? pick(r, girl_names, N(girl_names)) : pick(r, boy_names, N(boy_names));
    }
    w->he = girl ? "she" : "he";
    w->him = girl ? "her" : "him";
    w->his = girl ? "her" : "his";
    w->self = girl ? "herself" : "himself";
}

static void write_story(struct ant_rng *r, struct text *out)
{
    struct story st = { .rng = r, .out = out };
    struct who hero, friend;
    cast(r, &hero);
    do cast(r, &friend);
    while (!strcmp(friend.name, hero.name));
    const char *parent = pick(r, parents, N(parents));
    int mother = !strcmp(parent, "mom") || !strcmp(parent, "grandma") || !strcmp(parent, "mommy");

    bind(&st, "X", hero.name);
    bind(&st, "kind", hero.kind);
    bind(&st, "he", hero.he);
    bind(&st, "him", hero.him);
    bind(&st, "his", hero.his);
    bind(&st, "self", hero.self);
    bind(&st, "Y", friend.name);
    bind(&st, "fkind", friend.kind);
    bind(&st, "fhe", friend.he);
    bind(&st, "fhis", friend.his);
    bind(&st, "parent", parent);
    bind(&st, "phe", mother ? "she" : "he");
    bind(&st, "heroadj", pick(r, hero_adjs, N(hero_adjs)));
    bind(&st, "obj", pick(r, objects, N(objects)));
    bind(&st, "objadj", pick(r, obj_adjs, N(obj_adjs)));
    bind(&st, "place", pick(r, places, N(places)));
    bind(&st, "animal", pick(r, creatures, N(creatures)));
    bind(&st, "food", pick(r, foods, N(foods)));
    bind(&st, "fear", pick(r, fears, N(fears)));
    bind(&st, "wish", pick(r, wishes, N(wishes)));
    bind(&st, "fragile", pick(r, fragile, N(fragile)));
    bind(&st, "treasure", pick(r, treasures, N(treasures)));

    const char *opening = pick(r, openings, N(openings));
    const char *const *plot = plots[rng_below(r, (uint64_t)N(plots))];
    const char *ending = pick(r, endings, N(endings));

    expand(&st, opening, opening + strlen(opening), 0);
    for (int p = 0; plot[p]; p++) {
        put(out, p == 0 ? " " : "\n", 1);
        /* Sentences one by one, so an empty choice adds no stray space. */
        const char *s = plot[p];
        int first = 1;
        while (*s) {
            const char *e = sentence_end(s);
            size_t before = out->len;
            if (!first) put(out, " ", 1);
            size_t at = out->len;
            expand(&st, s, e, 0);
            if (out->len == at) out->len = before;   /* the sentence came out empty */
            else first = 0;
            s = *e ? e + 1 : e;
        }
    }
    if (*ending) {
        put(out, " ", 1);
        expand(&st, ending, ending + strlen(ending), 0);
    }
    put(out, "\n\n", 2);
}

char *corpus_generate(size_t *len)
{
    struct ant_rng r;
    struct text out = { 0 };
    rng_seed(&r, CORPUS_SEED);
    while (!out.oom && out.len < CORPUS_TARGET_BYTES) write_story(&r, &out);
    if (out.oom || !out.p) {
        free(out.p);
        *len = 0;
        return NULL;
    }
    *len = out.len;
    return out.p;
}

const char *corpus_text(size_t *len)
{
    static char *text;
    static size_t text_len;
    if (!text) text = corpus_generate(&text_len);
    *len = text ? text_len : 0;
    return text;
}
